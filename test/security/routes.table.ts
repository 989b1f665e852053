import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createServiceContext } from "../../src/composition";
import type { Permission } from "../../src/lib/permissions";
import { recordNotification } from "../../src/services/notifications/inbox";
import { registerVehicle, upload, uploadFullSet } from "../document-helpers";
import { receivedItem } from "../efi-webhook-helpers";
import { call, registerUser, type TestUser, unique } from "../helpers";
import { ridePaymentRow } from "../payment-helpers";
import { onlineDriver, PAULISTA, requestedRide, rideWithDriver, SE } from "../ride-helpers";
import type { Role } from "./actors";

/**
 * Who may call each operation of /openapi.json, and how to build what it acts on. The security
 * suite (security.test.ts) and the fuzz suite (test/fuzz) generate their cases from this table;
 * a test fails when an operation of the document has no entry here, or an entry names an
 * operation the document does not have. Keys are `METHOD /path` as the document spells them.
 */

/** A request the caller could legitimately make: the refusal cases send exactly this. */
export interface RequestSpec {
  body?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

/** A resource owned by user A, named by the `{id}` of the path. */
export interface Resource {
  id: string;
  /** The D1 table holding its row (`id` column), read before and after every case. */
  table: string;
  /** The users it belongs to, by role: the legitimate callers of the route. */
  owners: Partial<Record<Role, TestUser>>;
}

export interface ResourceSpec {
  build: () => Promise<Resource>;
  /** The 404 code of an id that was never issued; default `not_found`. */
  missingCode?: string;
  /**
   * How another user (a role allowed on the route, not an owner) naming A's id is answered:
   * default 404 `not_found`, so ids reveal nothing. An exception states its reason.
   */
  crossUser?: { status: number; code: string; reason: string } | { skip: string };
}

export type Access =
  /** No bearer token: the reason says why, and what authenticates the caller instead. */
  | {
      public: string;
      /** A shared secret in the query that stands in for the token, and the refusal without it. */
      secret?: { query: string; value: () => string; refusal: { status: number; code: string } };
    }
  /** Any signed-in user of these roles; others get 403 `forbidden`. */
  | { roles: readonly Role[] }
  /** Staff whose role grants the permission (src/lib/permissions.ts); others get 403 `forbidden`. */
  | { permission: Permission };

export interface RouteEntry {
  access: Access;
  resource?: ResourceSpec;
  request?: (r: { caller?: TestUser; id?: string }) => RequestSpec;
  /** Tables a refused request writes by design, and why. */
  writesOnRefusal?: { tables: string[]; reason: string };
  /** Set only for an operation the fuzz suite cannot exercise meaningfully, with the reason. */
  fuzz?: { skip: string };
}

const ANY_ROLE: readonly Role[] = ["passenger", "driver", "admin", "finance", "support", "ops"];

const idempotencyKey = () => ({ "idempotency-key": `sec-${unique()}` });

/** A driver's registered payout key (written directly: registering needs a CPF on file). */
async function aPayoutKey(): Promise<Resource> {
  const driver = await registerUser("driver");
  const id = `pkey_${unique().toUpperCase()}`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO payout_keys (id, driver_id, pix_key, pix_key_type, usable_from, created_at) VALUES (?, ?, ?, 'email', ?, ?)",
  )
    .bind(id, driver.id, `${unique()}@pix.test`, now, now)
    .run();
  return { id, table: "payout_keys", owners: { driver } };
}

async function acceptedRide(): Promise<Resource> {
  const { passenger, driver, ride } = await rideWithDriver();
  return { id: ride.id, table: "rides", owners: { passenger, driver } };
}

async function rideInProgress(): Promise<Resource> {
  const { passenger, driver, ride } = await rideWithDriver(["arrive", "start"]);
  return { id: ride.id, table: "rides", owners: { passenger, driver } };
}

/** A completed Pix ride: its payment is pending with an Efí charge. */
async function completedRide(): Promise<Resource> {
  const { passenger, driver, ride } = await rideWithDriver(["arrive", "start", "complete"]);
  return { id: ride.id, table: "rides", owners: { passenger, driver } };
}

async function ridePayment(): Promise<Resource> {
  const ride = await completedRide();
  const row = await ridePaymentRow(ride.id);
  if (!row) throw new Error(`ride ${ride.id} has no payment`);
  return { ...ride, id: String(row.id), table: "payments" };
}

/**
 * A requested ride offered to one driver, away from every other driver of the suite (the others
 * built here hold their own offers, so they are not eligible). The offer is held open and the
 * room's timers moved far off, so no dispatch step writes D1 while a case compares its tables.
 */
async function offeredRide(): Promise<Resource> {
  const pickup = { lat: -23.38 + Math.random() * 0.02, lng: -46.8 + Math.random() * 0.02 };
  const driver = await onlineDriver("pop", pickup);
  const { ride } = await requestedRide({
    pickup,
    dropoff: { lat: pickup.lat - 0.02, lng: pickup.lng },
  });
  for (let i = 0; i < 100; i++) {
    const offer = await env.DB.prepare("SELECT 1 FROM ride_offers WHERE ride_id = ? AND driver_id = ?")
      .bind(ride.id, driver.id)
      .first();
    if (offer) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  const later = Date.now() + 3_600_000;
  await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ?")
    .bind(new Date(later).toISOString(), ride.id)
    .run();
  await runInDurableObject(env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(ride.id)), (_instance, state) => {
    state.storage.sql.exec("UPDATE timers SET due_at = ?", later);
  });
  return { id: ride.id, table: "rides", owners: { driver } };
}

async function aPassenger(): Promise<Resource> {
  const user = await registerUser("passenger");
  return { id: user.id, table: "users", owners: { passenger: user } };
}

/** A phone registered by a driver (any role may register one). */
async function aDevice(): Promise<Resource> {
  const user = await registerUser("driver");
  const reply = await call("POST", "/v1/devices", {
    token: user.accessToken,
    body: { token: `sec-${unique()}`, platform: "android" },
  });
  if (reply.status !== 201) throw new Error(`device registration answered ${reply.status}`);
  return { id: reply.json.id, table: "devices", owners: { driver: user } };
}

/** An inbox notification of a passenger, written as the notifications consumer writes it. */
async function aNotification(): Promise<Resource> {
  const user = await registerUser("passenger");
  const row = await recordNotification(createServiceContext(env), {
    eventId: `evt_sec_${unique()}`,
    userId: user.id,
    kind: "ride_accepted",
    title: "Driver on the way",
    body: "A driver accepted your ride.",
    data: {},
  });
  return { id: row.id, table: "notifications", owners: { passenger: user } };
}

/** A driver whose complete set of documents waits for review. */
async function aDriverUnderReview(): Promise<Resource> {
  const user = await registerUser("driver");
  await registerVehicle(user);
  await uploadFullSet(user);
  return { id: user.id, table: "users", owners: { driver: user } };
}

/** One uploaded document (its file in R2). */
async function aDocument(): Promise<Resource> {
  const user = await registerUser("driver");
  const reply = await upload(user, "selfie");
  return { id: reply.json.document.id, table: "driver_documents", owners: { driver: user } };
}

/** A scheduled pricing version of São Paulo `pop` (far in the future, so it prices nothing). */
async function aPricingVersion(): Promise<Resource> {
  const id = `prc_SEC${unique().toUpperCase()}`;
  const at = new Date(Date.UTC(2090, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString();
  await env.DB.prepare(
    "INSERT INTO pricing_rules (id, city_id, category, base_fare_cents, per_km_cents, per_minute_cents, minimum_fare_cents, booking_fee_cents, cancellation_fee_cents, effective_from, created_at) VALUES (?, 'sao_paulo', 'pop', 500, 150, 30, 800, 100, 500, ?, ?)",
  )
    .bind(id, at, new Date().toISOString())
    .run();
  return { id, table: "pricing_rules", owners: {} };
}

/** A scheduled commission version of São Paulo `pop`. */
async function aCommissionVersion(): Promise<Resource> {
  const id = `com_SEC${unique().toUpperCase()}`;
  const at = new Date(Date.UTC(2090, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString();
  await env.DB.prepare(
    "INSERT INTO commission_rules (id, city_id, category, rate_bp, effective_from, created_at) VALUES (?, 'sao_paulo', 'pop', 2000, ?, ?)",
  )
    .bind(id, at, new Date().toISOString())
    .run();
  return { id, table: "commission_rules", owners: {} };
}

/** A fresh city id (lowercase letters, digits and _). */
function cityId(prefix: string): string {
  const suffix = unique()
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_");
  return `${prefix}_${suffix}`.slice(0, 40);
}

/** A city far from São Paulo, with no prices. */
async function aCity(): Promise<Resource> {
  const id = cityId("sec");
  await env.DB.prepare(
    "INSERT INTO cities (id, name, timezone, min_lat, max_lat, min_lng, max_lng, payment_methods, categories, active) VALUES (?, 'Security', 'America/Manaus', -3.2, -3.0, -60.1, -59.9, '[\"pix\"]', '[\"pop\"]', 1)",
  )
    .bind(id)
    .run();
  return { id, table: "cities", owners: {} };
}

const REASON = "security suite case";

const STAFF_TARGET = {
  skip: "staff act on any user or payment by design: the permission is the gate (see the 403 cases)",
};

export const ROUTES: Record<string, RouteEntry> = {
  "GET /health": { access: { public: "liveness probe for load balancers; reveals no data" } },
  "POST /v1/auth/register": {
    access: { public: "creates the account; the caller has no credentials yet" },
  },
  "POST /v1/auth/login": {
    access: { public: "exchanges an email and password for tokens" },
  },
  "POST /v1/auth/refresh": {
    access: { public: "the refresh token in the body is the credential (rotated, reuse ends the session)" },
  },
  "POST /v1/auth/logout": {
    access: { roles: ANY_ROLE },
    request: ({ caller }) => ({ body: { refresh_token: caller?.refreshToken ?? "none" } }),
  },
  "GET /v1/me": { access: { roles: ANY_ROLE } },
  "POST /v1/ws/ticket": { access: { roles: ANY_ROLE } },
  "GET /v1/admin/users": { access: { permission: "users:read" } },
  "POST /v1/admin/users/{id}/block": {
    access: { permission: "users:block" },
    resource: { build: aPassenger, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/users/{id}/unblock": {
    access: { permission: "users:block" },
    resource: { build: aPassenger, crossUser: STAFF_TARGET },
  },
  "GET /v1/admin/audit-logs": { access: { permission: "audit:read" } },
  "GET /v1/admin/pricing": { access: { permission: "pricing:read" } },
  "GET /v1/admin/pricing/{id}": {
    access: { permission: "pricing:read" },
    resource: { build: aPricingVersion, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/pricing": {
    access: { permission: "pricing:write" },
    request: () => ({
      body: {
        city_id: "sao_paulo",
        category: "pop",
        base_fare_cents: 500,
        per_km_cents: 150,
        per_minute_cents: 30,
        minimum_fare_cents: 800,
        booking_fee_cents: 100,
        cancellation_fee_cents: 500,
        effective_from: "2095-01-01T00:00:00Z",
        reason: REASON,
      },
    }),
  },
  "POST /v1/admin/pricing/{id}/retire": {
    access: { permission: "pricing:write" },
    resource: { build: aPricingVersion, crossUser: STAFF_TARGET },
    request: () => ({ body: { reason: REASON } }),
  },
  "GET /v1/admin/commission": { access: { permission: "commission:read" } },
  "GET /v1/admin/commission/{id}": {
    access: { permission: "commission:read" },
    resource: { build: aCommissionVersion, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/commission": {
    access: { permission: "commission:write" },
    request: () => ({
      body: {
        city_id: "sao_paulo",
        category: "pop",
        rate_bp: 2000,
        effective_from: "2095-01-01T00:00:00Z",
        reason: REASON,
      },
    }),
  },
  "POST /v1/admin/commission/{id}/retire": {
    access: { permission: "commission:write" },
    resource: { build: aCommissionVersion, crossUser: STAFF_TARGET },
    request: () => ({ body: { reason: REASON } }),
  },
  "GET /v1/admin/cities": { access: { permission: "pricing:read" } },
  "GET /v1/admin/cities/{id}": {
    access: { permission: "pricing:read" },
    resource: { build: aCity, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/cities": {
    access: { permission: "pricing:write" },
    request: () => ({
      body: {
        id: cityId("sec_new"),
        name: "Security New",
        timezone: "America/Manaus",
        payment_methods: ["pix"],
        categories: ["pop"],
        service_area: [
          [-60.1, -3.2],
          [-59.9, -3.2],
          [-59.9, -3.0],
          [-60.1, -3.2],
        ],
        reason: REASON,
      },
    }),
  },
  "PATCH /v1/admin/cities/{id}": {
    access: { permission: "pricing:write" },
    resource: { build: aCity, crossUser: STAFF_TARGET },
    request: () => ({ body: { name: "Security Renamed", reason: REASON } }),
  },
  "GET /v1/admin/surge": { access: { permission: "pricing:read" } },
  "POST /v1/admin/surge": {
    access: { permission: "pricing:write" },
    request: () => ({
      body: {
        city_id: "sao_paulo",
        category: "pop",
        zone: "6gyf4",
        multiplier_bp: 15_000,
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        reason: REASON,
      },
    }),
  },
  "GET /v1/me/export": { access: { roles: ANY_ROLE } },
  "DELETE /v1/me": {
    access: { roles: ANY_ROLE },
    request: ({ caller }) => ({ body: { password: caller?.password ?? "x" } }),
  },
  "POST /v1/me/password": {
    access: { roles: ANY_ROLE },
    request: ({ caller }) => ({
      body: { current_password: caller?.password ?? "x", new_password: "another-pass-4242" },
    }),
  },
  "POST /v1/me/consents": {
    access: { roles: ANY_ROLE },
    request: () => ({ body: { document: "terms", version: "2026-01" } }),
  },
  "GET /v1/drivers/me/documents": { access: { roles: ["driver"] } },
  "PUT /v1/drivers/me/documents/{kind}": { access: { roles: ["driver"] } },
  "GET /v1/admin/drivers": { access: { permission: "drivers:review" } },
  "GET /v1/admin/drivers/{id}": {
    access: { permission: "drivers:review" },
    resource: { build: aDriverUnderReview, crossUser: STAFF_TARGET },
  },
  "GET /v1/admin/drivers/documents/{id}/file": {
    access: { permission: "drivers:review" },
    resource: { build: aDocument, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/drivers/{id}/approve": {
    access: { permission: "drivers:review" },
    resource: { build: aDriverUnderReview, crossUser: STAFF_TARGET },
  },
  "POST /v1/admin/drivers/{id}/reject": {
    access: { permission: "drivers:review" },
    resource: { build: aDriverUnderReview, crossUser: STAFF_TARGET },
    request: () => ({ body: { reason: "security suite" } }),
  },
  "POST /v1/admin/drivers/{id}/suspend": {
    access: { permission: "drivers:review" },
    resource: { build: aDriverUnderReview, crossUser: STAFF_TARGET },
    request: () => ({ body: { reason: "security suite" } }),
  },
  "POST /v1/rides/quote": {
    access: { roles: ["passenger"] },
    request: () => ({ body: { pickup: SE, dropoff: PAULISTA, category: "pop" } }),
  },
  "GET /v1/drivers/me": { access: { roles: ["driver"] } },
  "GET /v1/drivers/me/offers": { access: { roles: ["driver"] } },
  "POST /v1/rides/{id}/decline": { access: { roles: ["driver"] }, resource: { build: offeredRide } },
  "PUT /v1/drivers/me/vehicle": {
    access: { roles: ["driver"] },
    request: () => ({ body: { plate: "XYZ9A87", model: "HB20", color: "Branco", category: "comfort" } }),
  },
  "POST /v1/drivers/me/online": { access: { roles: ["driver"] }, request: () => ({ body: PAULISTA }) },
  "POST /v1/drivers/me/offline": { access: { roles: ["driver"] } },
  "POST /v1/drivers/me/location": {
    access: { roles: ["driver"] },
    request: () => ({ body: { ...PAULISTA, heading: 90, speed: 8 } }),
  },
  "GET /v1/rides/available": { access: { roles: ["driver"] }, request: () => ({ query: { limit: "10" } }) },
  "POST /v1/rides": {
    access: { roles: ["passenger"] },
    request: () => ({
      body: { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" },
      headers: idempotencyKey(),
    }),
  },
  "GET /v1/rides": { access: { roles: ["passenger", "driver"] } },
  "GET /v1/rides/{id}": { access: { roles: ANY_ROLE }, resource: { build: acceptedRide } },
  "POST /v1/rides/{id}/accept": {
    access: { roles: ["driver"] },
    resource: {
      build: acceptedRide,
      crossUser: {
        status: 409,
        code: "ride_already_accepted",
        reason:
          "a requested ride is offered to every driver, so its id is no secret to one; a taken ride answers as a lost race",
      },
    },
  },
  "POST /v1/rides/{id}/arrive": { access: { roles: ["driver"] }, resource: { build: acceptedRide } },
  "POST /v1/rides/{id}/start": { access: { roles: ["driver"] }, resource: { build: acceptedRide } },
  "POST /v1/rides/{id}/complete": {
    access: { roles: ["driver"] },
    resource: { build: rideInProgress },
    request: () => ({ body: { distance_m: 3000, duration_s: 600 } }),
  },
  "POST /v1/rides/{id}/end-early": { access: { roles: ["passenger"] }, resource: { build: rideInProgress } },
  "POST /v1/rides/{id}/cancel": {
    access: { roles: ["passenger", "driver"] },
    resource: { build: acceptedRide },
    request: () => ({ body: { reason: "changed plans" } }),
  },
  "POST /v1/rides/{id}/rating": {
    access: { roles: ["passenger", "driver"] },
    resource: { build: completedRide },
    request: () => ({ body: { stars: 5, comment: "great" } }),
  },
  "GET /v1/admin/ledger/check": { access: { permission: "ledger:read" } },
  "GET /v1/admin/reports/rides": {
    access: { permission: "reports:read" },
    request: () => ({ query: { from: "2026-11-01", to: "2026-11-07" } }),
  },
  "GET /v1/admin/reports/revenue": {
    access: { permission: "reports:read" },
    request: () => ({ query: { from: "2026-11-01", to: "2026-11-07" } }),
  },
  "GET /v1/admin/reports/payouts": {
    access: { permission: "reports:read" },
    request: () => ({ query: { from: "2026-11-01", to: "2026-11-07" } }),
  },
  "GET /v1/admin/reports/drivers": {
    access: { permission: "reports:read" },
    request: () => ({ query: { from: "2026-11-01", to: "2026-11-07" } }),
  },
  "GET /v1/wallet": { access: { roles: ["driver"] } },
  "GET /v1/wallet/entries": { access: { roles: ["driver"] } },
  "POST /v1/payouts": {
    access: { roles: ["driver"] },
    request: () => ({ body: { amount_cents: 5000, pix_key: "+5511987654321" }, headers: idempotencyKey() }),
  },
  "GET /v1/payouts": { access: { roles: ["driver"] } },
  "POST /v1/payouts/keys": {
    access: { roles: ["driver"] },
    request: () => ({ body: { pix_key: "+5511987654321" } }),
  },
  "GET /v1/payouts/keys": { access: { roles: ["driver"] } },
  "DELETE /v1/payouts/keys/{id}": {
    access: { roles: ["driver"] },
    resource: { build: aPayoutKey },
  },
  "POST /v1/payment-methods/cards": {
    access: { roles: ["passenger"] },
    request: () => ({
      body: { payment_token: `tok_${unique()}`, brand: "visa", last4: "4242" },
    }),
  },
  "GET /v1/payment-methods": { access: { roles: ["passenger"] } },
  "POST /v1/rides/{id}/payment/retry": {
    access: { roles: ["passenger"] },
    resource: { build: completedRide },
    request: () => ({ body: {}, headers: idempotencyKey() }),
  },
  "GET /v1/admin/settlement-config": { access: { permission: "settlements:read" } },
  "PUT /v1/admin/settlement-config": {
    access: { permission: "settlements:write" },
    request: () => ({
      body: {
        delay_business_days: 5,
        holidays: ["2026-12-25"],
        min_payout_cents: 100,
        payout_fee_cents: 0,
        credit_floor_cents: -5000,
      },
    }),
  },
  "GET /v1/admin/payments/flagged": { access: { permission: "payments:refund" } },
  "POST /v1/admin/payments/{id}/refund": {
    access: { permission: "payments:refund" },
    resource: { build: ridePayment, crossUser: STAFF_TARGET },
    request: () => ({ body: { reason: "security suite" }, headers: idempotencyKey() }),
  },
  "GET /v1/rides/{id}/payment": { access: { roles: ANY_ROLE }, resource: { build: completedRide } },
  "POST /v1/rides/{id}/payment/regenerate": {
    access: { roles: ANY_ROLE },
    resource: { build: completedRide },
  },
  "POST /v1/wallet/credit/topups": {
    access: { roles: ["driver"] },
    request: () => ({ body: { amount_cents: 5000 }, headers: idempotencyKey() }),
  },
  "GET /v1/payments/{id}": {
    access: { roles: ANY_ROLE },
    resource: {
      build: ridePayment,
      missingCode: "payment_not_found",
      crossUser: {
        status: 404,
        code: "payment_not_found",
        reason: "the payments service names its 404 payment_not_found",
      },
    },
  },
  "POST /v1/devices": {
    access: { roles: ANY_ROLE },
    request: () => ({ body: { token: `sec-${unique()}`, platform: "android" } }),
  },
  "DELETE /v1/devices/{id}": { access: { roles: ANY_ROLE }, resource: { build: aDevice } },
  "GET /v1/notifications": { access: { roles: ANY_ROLE } },
  "POST /v1/notifications/{id}/read": { access: { roles: ANY_ROLE }, resource: { build: aNotification } },
  "POST /v1/admin/reconcile": { access: { permission: "reconcile:run" } },
  "POST /v1/admin/pix/{e2e_id}/refund": {
    access: { permission: "payments:refund" },
    request: () => ({ body: { reason: "security suite" }, headers: idempotencyKey() }),
  },
  "POST /webhooks/efi/card": { access: efiWebhook(), request: () => ({ body: "notification=x" }) },
  "POST /webhooks/efi/pix": { access: efiWebhook(), request: efiNotification },
  "POST /webhooks/efi": { access: efiWebhook(), request: efiNotification },
};

function efiWebhook(): Access {
  return {
    public:
      "Efí cannot send a bearer token: its notifications are authenticated by the hmac query secret (and the sender address when configured)",
    secret: {
      query: "hmac",
      value: () => env.EFI_WEBHOOK_HMAC_SECRET,
      refusal: { status: 401, code: "webhook_unauthorized" },
    },
  };
}

function efiNotification(): RequestSpec {
  return { body: { pix: [receivedItem({})] }, query: { ignorar: "/pix" } };
}

/**
 * Routes the app serves outside the document, each with its reason. They are checked against the
 * app's own route list, so a new route is either documented (and then needs a ROUTES entry) or
 * named here.
 */
export const UNDOCUMENTED_ROUTES: Record<string, string> = {
  "GET /openapi.json": "the document itself",
  "GET /docs": "the HTML reference page rendering the document",
  "GET /docs/*": "the reference page's static files (Workers Static Assets), covered by pages tests",
  "GET /admin": "the staff console's HTML page; it calls the documented API",
  "GET /admin/*": "the staff console's static files (Workers Static Assets), covered by pages tests",
  "GET /metrics":
    "Prometheus scrape for operators, with its own METRICS_TOKEN (not a user token); covered by metrics tests",
  "GET /v1/ws":
    "WebSocket upgrade (101 with immutable headers; refusals are close codes), covered by rides.realtime tests",
  "GET /v1/rides/{id}/ws":
    "WebSocket upgrade (101 with immutable headers; refusals are close codes), covered by rides.realtime tests",
};
