// The whole D1 schema, one drizzle table per database table (drizzle.config.ts reads this file).
// It is longer than 300 lines because it is one schema by design: the tables reference each
// other, and one file shows every foreign key, index and check a migration is generated from.

import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

// Times are ISO 8601 UTC strings (sortable as text); money, when it arrives, is integer centavos.

export const USER_ROLES = ["passenger", "driver", "admin", "finance", "support", "ops"] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const USER_STATUSES = ["active", "blocked"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    role: text("role", { enum: USER_ROLES }).notNull(),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    name: text("name").notNull(),
    /** Normalised: trimmed and lower-cased. */
    email: text("email").notNull(),
    phone: text("phone").notNull(),
    passwordHash: text("password_hash").notNull(),
    /** AES-GCM ciphertext of the 11 CPF digits. */
    cpfCiphertext: text("cpf_ciphertext"),
    /** HMAC-SHA256 of the 11 CPF digits under a separate key: uniqueness and lookup. */
    cpfHash: text("cpf_hash"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** Set when the account was closed and anonymised (LGPD erasure); status is then `blocked`. */
    erasedAt: text("erased_at"),
  },
  (t) => [
    uniqueIndex("users_email_unique").on(t.email),
    uniqueIndex("users_cpf_hash_unique").on(t.cpfHash),
    check("users_role_check", sql.raw(`role IN (${USER_ROLES.map((r) => `'${r}'`).join(", ")})`)),
    check("users_status_check", sql.raw(`status IN (${USER_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
  ],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    /** All tokens descending from one login share a family; reuse of any revokes all. */
    familyId: text("family_id").notNull(),
    /** SHA-256 of the opaque token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_unique").on(t.tokenHash),
    index("refresh_tokens_family_idx").on(t.familyId),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** Keys are scoped to the caller, so two users can pick the same key. */
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    /** Method, path and SHA-256 of the body: the same key with another request is refused. */
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["in_progress", "completed"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index("idempotency_expires_idx").on(t.expiresAt)],
);

export const auditLogs = sqliteTable(
  "audit_logs",
  {
    id: text("id").primaryKey(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    /** JSON snapshots; never personal data such as CPF or tokens. */
    before: text("before"),
    after: text("after"),
    requestId: text("request_id"),
    /** Why staff made the change (required on admin writes of pricing, commission, cities, surge). */
    reason: text("reason"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("audit_logs_created_idx").on(t.createdAt),
    index("audit_logs_actor_idx").on(t.actorId, t.id),
    index("audit_logs_target_idx").on(t.targetType, t.targetId),
  ],
);

// ---- LGPD: consents and erasure --------------------------------------------------------------

/** Each acceptance of a version of the terms or the privacy policy; never edited, kept after erasure. */
export const consents = sqliteTable(
  "consents",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    document: text("document", { enum: ["terms", "privacy"] }).notNull(),
    version: text("version").notNull(),
    acceptedAt: text("accepted_at").notNull(),
  },
  (t) => [index("consents_user_idx").on(t.userId, t.id)],
);

/** Fixed-window counters for rate limits that must also work locally (login attempts). */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull().default(sql`0`),
});

// ---------------------------------------------------------------------------------------------
// Cities, pricing, quotes

export const PAYMENT_METHODS = ["pix", "card", "cash"] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** A service area: a bounding box, and what is offered inside it. Seeded by migration. */
export const cities = sqliteTable("cities", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  timezone: text("timezone").notNull(),
  minLat: real("min_lat").notNull(),
  maxLat: real("max_lat").notNull(),
  minLng: real("min_lng").notNull(),
  maxLng: real("max_lng").notNull(),
  /** JSON array of PaymentMethod. */
  paymentMethods: text("payment_methods").notNull(),
  active: integer("active", { mode: "boolean" }).notNull().default(true),
  // ---- Admin-managed cities: the service area polygon (the box above is its bounding box, kept
  // as the SQL prefilter), the currency and the categories offered.
  /** JSON ring `[[lng, lat], ...]`; null means the bounding box itself is the service area. */
  serviceArea: text("service_area"),
  currency: text("currency").notNull().default("BRL"),
  /** JSON array of category names offered in the city. */
  categories: text("categories").notNull().default("[]"),
  updatedAt: text("updated_at"),
  // ---- Per-city credit floor (centavos, <= 0, null = the global `settlement_config` floor). It
  // can only be stricter: the floor used for a ride is the higher of the two.
  creditFloorCents: integer("credit_floor_cents"),
});

/**
 * Surge set by staff per city and category, for the whole city (`zone` null) or a geohash cell
 * prefix; the most specific live zone wins, then the newest. Rows are never edited: a new row
 * supersedes, `expires_at` ends it.
 */
export const surges = sqliteTable(
  "surges",
  {
    id: text("id").primaryKey(),
    cityId: text("city_id")
      .notNull()
      .references(() => cities.id),
    category: text("category").notNull(),
    zone: text("zone"),
    multiplierBp: integer("multiplier_bp").notNull(),
    expiresAt: text("expires_at").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("surges_lookup_idx").on(t.cityId, t.category, t.expiresAt),
    check("surges_multiplier_check", sql`multiplier_bp >= 10000`),
  ],
);

/**
 * Fare rules per city and category, versioned: the rule in force at a moment is the one with
 * the latest `effective_from` not after it. Rows are never edited; a change is a new version.
 */
export const pricingRules = sqliteTable(
  "pricing_rules",
  {
    id: text("id").primaryKey(),
    cityId: text("city_id")
      .notNull()
      .references(() => cities.id),
    category: text("category").notNull(),
    baseFareCents: integer("base_fare_cents").notNull(),
    perKmCents: integer("per_km_cents").notNull(),
    perMinuteCents: integer("per_minute_cents").notNull(),
    minimumFareCents: integer("minimum_fare_cents").notNull(),
    bookingFeeCents: integer("booking_fee_cents").notNull(),
    cancellationFeeCents: integer("cancellation_fee_cents").notNull(),
    /** 10000 = 1.0x. */
    surgeMultiplierBp: integer("surge_multiplier_bp").notNull().default(10000),
    effectiveFrom: text("effective_from").notNull(),
    createdAt: text("created_at").notNull(),
    // ---- Admin versions: surge bounds, per-rule cancellation grace (null = the configured
    // default) and retirement (a retired version is never picked; set once, by trigger).
    surgeMinBp: integer("surge_min_bp").notNull().default(10000),
    surgeMaxBp: integer("surge_max_bp").notNull().default(30000),
    cancellationGraceSeconds: integer("cancellation_grace_seconds"),
    retiredAt: text("retired_at"),
  },
  (t) => [
    uniqueIndex("pricing_rules_version_unique").on(t.cityId, t.category, t.effectiveFrom),
    check(
      "pricing_rules_amounts_check",
      sql`base_fare_cents >= 0 AND per_km_cents >= 0 AND per_minute_cents >= 0 AND minimum_fare_cents >= 0 AND booking_fee_cents >= 0 AND cancellation_fee_cents >= 0 AND surge_multiplier_bp >= 10000`,
    ),
  ],
);

export const quotes = sqliteTable("quotes", {
  id: text("id").primaryKey(),
  passengerId: text("passenger_id")
    .notNull()
    .references(() => users.id),
  cityId: text("city_id").notNull(),
  category: text("category").notNull(),
  pricingRuleId: text("pricing_rule_id").notNull(),
  pickupLat: real("pickup_lat").notNull(),
  pickupLng: real("pickup_lng").notNull(),
  dropoffLat: real("dropoff_lat").notNull(),
  dropoffLng: real("dropoff_lng").notNull(),
  distanceM: integer("distance_m").notNull(),
  durationS: integer("duration_s").notNull(),
  estimatedFareCents: integer("estimated_fare_cents").notNull(),
  surgeMultiplierBp: integer("surge_multiplier_bp").notNull(),
  expiresAt: text("expires_at").notNull(),
  createdAt: text("created_at").notNull(),
});

// ---------------------------------------------------------------------------------------------
// Drivers and rides

export const DRIVER_STATUSES = ["offline", "online"] as const;
export const ONBOARDING_STATUSES = [
  "pending_documents",
  "under_review",
  "approved",
  "rejected",
  "suspended",
] as const;
export type OnboardingStatus = (typeof ONBOARDING_STATUSES)[number];

export const drivers = sqliteTable(
  "drivers",
  {
    userId: text("user_id")
      .primaryKey()
      .references(() => users.id),
    status: text("status", { enum: DRIVER_STATUSES }).notNull().default("offline"),
    vehiclePlate: text("vehicle_plate"),
    vehicleModel: text("vehicle_model"),
    vehicleColor: text("vehicle_color"),
    vehicleCategory: text("vehicle_category"),
    lastLat: real("last_lat"),
    lastLng: real("last_lng"),
    /** Geohash of the last position at GEOHASH_CELL_PRECISION: the "drivers near here" index. */
    lastCell: text("last_cell"),
    lastSeenAt: text("last_seen_at"),
    // Dispatch: when the driver last went from offline to online (idle time), and until when too
    // many cancellations keep him from going online again.
    onlineSince: text("online_since"),
    cooldownUntil: text("cooldown_until"),
    updatedAt: text("updated_at").notNull(),
    // Onboarding (src/services/drivers/onboarding.ts): only `approved` with unexpired documents
    // may go online. `onboarding_reason` is the rejection or suspension reason shown to the driver.
    onboardingStatus: text("onboarding_status", { enum: ONBOARDING_STATUSES })
      .notNull()
      .default("pending_documents"),
    onboardingReason: text("onboarding_reason"),
    /** Who suspended: `documents_expired` (the daily cron) or `staff`; null unless suspended. */
    suspendedBy: text("suspended_by", { enum: ["documents_expired", "staff"] }),
    onboardingChangedAt: text("onboarding_changed_at"),
    /** The earliest expiry (YYYY-MM-DD) of the approved documents; valid through that day. */
    documentsExpireOn: text("documents_expire_on"),
  },
  (t) => [
    index("drivers_online_cell_idx").on(t.status, t.lastCell),
    index("drivers_onboarding_idx").on(t.onboardingStatus, t.userId),
    index("drivers_documents_expire_idx").on(t.documentsExpireOn),
  ],
);

// ---- Driver status log (online hours) --------------------------------------------------------

/**
 * Every change of `drivers.status`, written by triggers on `drivers` (migration
 * `driver_status_log_triggers`), so no code path can change the status without a row. An
 * `online` row names the city whose box held the position he went online at; an `offline` row
 * repeats its session's city and start (`online_at`), so a closed session is one row. Append-only.
 */
export const driverStatusLog = sqliteTable(
  "driver_status_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    driverId: text("driver_id").notNull(),
    status: text("status", { enum: DRIVER_STATUSES }).notNull(),
    cityId: text("city_id"),
    /** On an `offline` row: when the session it ends began. */
    onlineAt: text("online_at"),
    at: text("at").notNull(),
  },
  (t) => [
    index("driver_status_log_driver_idx").on(t.driverId, t.id),
    index("driver_status_log_city_at_idx").on(t.cityId, t.status, t.at),
  ],
);

// ---- Driver documents (onboarding) ----------------------------------------------------------

export const DOCUMENT_KINDS = ["cnh", "crlv", "criminal_record", "vehicle_photo", "selfie"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];
export const DOCUMENT_REVIEW_STATUSES = ["pending", "approved", "rejected"] as const;

/**
 * One row per uploaded file (history kept: a new upload of a kind supersedes the older one for
 * review, while the last approved one still counts for expiry). The file is in R2 (DOCUMENTS)
 * under `object_key`, which embeds the driver's user id and is never taken from a request.
 */
export const driverDocuments = sqliteTable(
  "driver_documents",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    kind: text("kind", { enum: DOCUMENT_KINDS }).notNull(),
    objectKey: text("object_key").notNull(),
    contentType: text("content_type").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    sha256: text("sha256").notNull(),
    number: text("number"),
    /** YYYY-MM-DD; the document is valid through that day (São Paulo). */
    expiresOn: text("expires_on"),
    /** CNH only: the "exerce atividade remunerada" (EAR) remark, and the licence category. */
    cnhEar: integer("cnh_ear", { mode: "boolean" }),
    cnhCategory: text("cnh_category"),
    /**
     * CRLV: the plate it states (normalised), checked against the registered vehicle's; vehicle
     * photo: the vehicle registered when it was uploaded. Null for the other kinds.
     */
    plate: text("plate"),
    reviewStatus: text("review_status", { enum: DOCUMENT_REVIEW_STATUSES }).notNull().default("pending"),
    reviewedBy: text("reviewed_by"),
    reviewedAt: text("reviewed_at"),
    /** The smallest "days before expiry" notice sent (30, 7, 1): each is sent once. */
    expiryNoticeDays: integer("expiry_notice_days"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("driver_documents_object_unique").on(t.objectKey),
    index("driver_documents_driver_idx").on(t.driverId, t.kind, t.id),
    index("driver_documents_expires_idx").on(t.reviewStatus, t.expiresOn),
  ],
);

export const RIDE_STATUSES = [
  "requested",
  "accepted",
  "arrived",
  "in_progress",
  "completed",
  "cancelled",
  "expired",
] as const;
export type RideStatus = (typeof RIDE_STATUSES)[number];

/** Statuses in which a ride occupies its driver (and its passenger). */
export const DRIVER_ACTIVE_STATUSES = ["accepted", "arrived", "in_progress"] as const;
export const PASSENGER_ACTIVE_STATUSES = ["requested", ...DRIVER_ACTIVE_STATUSES] as const;

const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const rides = sqliteTable(
  "rides",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: RIDE_STATUSES }).notNull(),
    passengerId: text("passenger_id")
      .notNull()
      .references(() => users.id),
    driverId: text("driver_id").references(() => users.id),
    cityId: text("city_id").notNull(),
    category: text("category").notNull(),
    paymentMethod: text("payment_method", { enum: PAYMENT_METHODS }).notNull(),
    pickupLat: real("pickup_lat").notNull(),
    pickupLng: real("pickup_lng").notNull(),
    /** Geohash of the pickup at GEOHASH_CELL_PRECISION: the "rides near here" index. */
    pickupCell: text("pickup_cell").notNull(),
    dropoffLat: real("dropoff_lat").notNull(),
    dropoffLng: real("dropoff_lng").notNull(),
    quoteId: text("quote_id"),
    pricingRuleId: text("pricing_rule_id").notNull(),
    estimatedFareCents: integer("estimated_fare_cents").notNull(),
    estimatedDistanceM: integer("estimated_distance_m").notNull(),
    estimatedDurationS: integer("estimated_duration_s").notNull(),
    finalFareCents: integer("final_fare_cents"),
    distanceM: integer("distance_m"),
    durationS: integer("duration_s"),
    // Trip integrity: the fare comes from the server's measure (distance_m along the RideRoom's
    // trace, duration_s between the server's times). What the driver reported is kept, advisory.
    driverReportedDistanceM: integer("driver_reported_distance_m"),
    driverReportedDurationS: integer("driver_reported_duration_s"),
    /** Why staff should review the fare (a measured fare was charged instead of the quote). */
    fareReview: text("fare_review"),
    /** When the passenger ended the trip before the dropoff (complete was then allowed anywhere). */
    endedEarlyAt: text("ended_early_at"),
    cancellationFeeCents: integer("cancellation_fee_cents"),
    cancelledBy: text("cancelled_by", { enum: ["passenger", "driver", "system"] }),
    cancelReason: text("cancel_reason"),
    /** Sequence number of the last event appended to ride_events. */
    lastSeq: integer("last_seq").notNull().default(0),
    expiresAt: text("expires_at").notNull(),
    createdAt: text("created_at").notNull(),
    acceptedAt: text("accepted_at"),
    arrivedAt: text("arrived_at"),
    startedAt: text("started_at"),
    completedAt: text("completed_at"),
    cancelledAt: text("cancelled_at"),
    expiredAt: text("expired_at"),
    /** Why a ride expired: `request_timeout` (nobody accepted in time) or `no_driver_available`. */
    expiredReason: text("expired_reason", { enum: ["request_timeout", "no_driver_available"] }),
    updatedAt: text("updated_at").notNull(),
    // ---- The surge the ride was priced with at request (the quote's, or the live one): a fare
    // re-priced from the measured trip uses it. Null on rides from before it was stored.
    surgeMultiplierBp: integer("surge_multiplier_bp"),
  },
  (t) => [
    // The database, not only the RideRoom, guarantees one active ride per driver and passenger.
    uniqueIndex("rides_one_active_per_driver")
      .on(t.driverId)
      .where(sql`status IN (${inList(DRIVER_ACTIVE_STATUSES)})`),
    uniqueIndex("rides_one_active_per_passenger")
      .on(t.passengerId)
      .where(sql`status IN (${inList(PASSENGER_ACTIVE_STATUSES)})`),
    index("rides_requested_cell_idx").on(t.status, t.pickupCell),
    index("rides_passenger_idx").on(t.passengerId, t.id),
    index("rides_driver_idx").on(t.driverId, t.id),
    check("rides_status_check", sql`status IN (${inList(RIDE_STATUSES)})`),
    check(
      "rides_driver_check",
      sql`status IN ('requested', 'expired') OR driver_id IS NOT NULL OR (status = 'cancelled' AND accepted_at IS NULL)`,
    ),
  ],
);

/** Append-only history of each ride; `seq` is per ride and matches the realtime events. */
export const rideEvents = sqliteTable(
  "ride_events",
  {
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    seq: integer("seq").notNull(),
    type: text("type").notNull(),
    actorId: text("actor_id"),
    data: text("data").notNull(),
    at: text("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.rideId, t.seq] })],
);

// Dispatch: offers of a ride to drivers, and drivers' cancellations of rides they had accepted.

export const OFFER_STATUSES = ["open", "declined", "expired", "accepted", "withdrawn"] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

/** One row per ride and driver: a ride is never offered to the same driver twice. */
export const rideOffers = sqliteTable(
  "ride_offers",
  {
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    /** 1 for the first batch; 0 for a driver who accepted without having been offered the ride. */
    batch: integer("batch").notNull(),
    /** The search radius of the batch, in metres. */
    radiusM: integer("radius_m").notNull(),
    /** From the driver's stored position to the pickup when offered, in metres. */
    distanceM: integer("distance_m"),
    status: text("status", { enum: OFFER_STATUSES }).notNull(),
    offeredAt: text("offered_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    respondedAt: text("responded_at"),
  },
  (t) => [
    primaryKey({ columns: [t.rideId, t.driverId] }),
    // A driver holds at most one open offer at a time, whatever concurrent rooms try.
    uniqueIndex("ride_offers_one_open_per_driver").on(t.driverId).where(sql`status = 'open'`),
    check("ride_offers_status_check", sql`status IN (${inList(OFFER_STATUSES)})`),
  ],
);

/** Each time a driver gave back a ride he had accepted: counted against his cancellation limit. */
export const driverCancellations = sqliteTable(
  "driver_cancellations",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    reason: text("reason").notNull(),
    at: text("at").notNull(),
  },
  (t) => [
    index("driver_cancellations_driver_idx").on(t.driverId, t.at),
    uniqueIndex("driver_cancellations_ride_seq_unique").on(t.rideId, t.driverId, t.at),
  ],
);

export const ratings = sqliteTable(
  "ratings",
  {
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    raterId: text("rater_id")
      .notNull()
      .references(() => users.id),
    rateeId: text("ratee_id")
      .notNull()
      .references(() => users.id),
    stars: integer("stars").notNull(),
    comment: text("comment"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.rideId, t.raterId] }),
    check("ratings_stars_check", sql`stars BETWEEN 1 AND 5`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Money: the double-entry ledger (see src/services/ledger.ts and migrations for its triggers)

export const NORMAL_SIDES = ["debit", "credit"] as const;
export type NormalSide = (typeof NORMAL_SIDES)[number];

/**
 * One account per owner and kind, e.g. `driver:usr_…:available`, `platform:platform:revenue`.
 * `balance` is the natural balance (positive on the account's normal side); it is maintained by
 * a trigger on ledger_entries, never written by code, and can never drift from the entries.
 */
export const ledgerAccounts = sqliteTable(
  "ledger_accounts",
  {
    id: text("id").primaryKey(),
    ownerType: text("owner_type", { enum: ["driver", "platform"] }).notNull(),
    ownerId: text("owner_id").notNull(),
    kind: text("kind").notNull(),
    normalSide: text("normal_side", { enum: NORMAL_SIDES }).notNull(),
    balance: integer("balance").notNull().default(0),
    version: integer("version").notNull().default(0),
    /** Postings that enforce floors may not take `balance` below this. Null: unguarded. */
    floor: integer("floor"),
    createdAt: text("created_at").notNull(),
    /**
     * The last entry applied to `balance`, set by the entry trigger. The balance guard accepts a
     * change only when it equals the natural amount of a newer entry of this account.
     */
    lastEntryId: integer("last_entry_id"),
  },
  (t) => [
    uniqueIndex("ledger_accounts_owner_kind_unique").on(t.ownerType, t.ownerId, t.kind),
    check("ledger_accounts_normal_side_check", sql`normal_side IN ('debit', 'credit')`),
  ],
);

export const ledgerTransactions = sqliteTable(
  "ledger_transactions",
  {
    id: text("id").primaryKey(),
    /** A retried posting carries the same key and posts nothing the second time. */
    idempotencyKey: text("idempotency_key").notNull(),
    /** SHA-256 of the posting's content: the same key with other content is refused. */
    requestHash: text("request_hash").notNull(),
    kind: text("kind").notNull(),
    referenceType: text("reference_type").notNull(),
    referenceId: text("reference_id").notNull(),
    /** The transaction this one reverses, if any. */
    reversesId: text("reverses_id"),
    /** The business moment (ride end, settlement day); `created_at` is when it was written. */
    effectiveAt: text("effective_at").notNull(),
    createdAt: text("created_at").notNull(),
    memo: text("memo"),
  },
  (t) => [
    uniqueIndex("ledger_transactions_idempotency_unique").on(t.idempotencyKey),
    uniqueIndex("ledger_transactions_reverses_unique").on(t.reversesId),
    index("ledger_transactions_reference_idx").on(t.referenceType, t.referenceId),
    index("ledger_transactions_effective_idx").on(t.effectiveAt),
  ],
);

export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    transactionId: text("transaction_id")
      .notNull()
      .references(() => ledgerTransactions.id),
    accountId: text("account_id")
      .notNull()
      .references(() => ledgerAccounts.id),
    /** Signed centavos: positive is a debit, negative a credit. A transaction's entries sum to 0. */
    amount: integer("amount").notNull(),
    /** 1: this entry may not take its account below the account's floor. */
    enforceFloor: integer("enforce_floor", { mode: "boolean" }).notNull().default(true),
    effectiveAt: text("effective_at").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("ledger_entries_account_idx").on(t.accountId, t.id),
    index("ledger_entries_transaction_idx").on(t.transactionId),
    check("ledger_entries_amount_check", sql`amount <> 0`),
  ],
);

/**
 * Written as the last statement of every posting; its trigger refuses the whole batch unless
 * the transaction's entries balance. A D1 batch cannot defer a check, so this row closes it.
 */
export const ledgerPostingChecks = sqliteTable("ledger_posting_checks", {
  transactionId: text("transaction_id").primaryKey(),
});

// ---------------------------------------------------------------------------------------------
// Commission, settlement, payouts

/** Platform commission per city and category, versioned like pricing rules. */
export const commissionRules = sqliteTable(
  "commission_rules",
  {
    id: text("id").primaryKey(),
    cityId: text("city_id")
      .notNull()
      .references(() => cities.id),
    category: text("category").notNull(),
    /** Basis points of the fare: 2000 = 20 %. */
    rateBp: integer("rate_bp").notNull(),
    minCents: integer("min_cents"),
    maxCents: integer("max_cents"),
    effectiveFrom: text("effective_from").notNull(),
    createdAt: text("created_at").notNull(),
    /** A retired version is never picked; set once (a trigger refuses any other update). */
    retiredAt: text("retired_at"),
  },
  (t) => [
    uniqueIndex("commission_rules_version_unique").on(t.cityId, t.category, t.effectiveFrom),
    check(
      "commission_rules_values_check",
      sql`rate_bp BETWEEN 0 AND 10000 AND (min_cents IS NULL OR min_cents >= 0) AND (max_cents IS NULL OR max_cents >= COALESCE(min_cents, 0))`,
    ),
  ],
);

/** The settlement and payout settings; one row (id = 1). */
export const settlementConfig = sqliteTable(
  "settlement_config",
  {
    id: integer("id").primaryKey(),
    /** N of D+N: business days in America/Sao_Paulo before a ride's earnings become available. */
    delayBusinessDays: integer("delay_business_days").notNull(),
    /** JSON array of YYYY-MM-DD dates that are not business days. */
    holidays: text("holidays").notNull(),
    minPayoutCents: integer("min_payout_cents").notNull(),
    payoutFeeCents: integer("payout_fee_cents").notNull(),
    /** Lowest prepaid credit (centavos, ≤ 0) at which a driver may still accept rides. */
    creditFloorCents: integer("credit_floor_cents").notNull(),
    updatedAt: text("updated_at").notNull(),
    // ---- Payout safety: a new Pix key waits before its first payout; a driver's payouts per
    // São Paulo day are capped; above the threshold (null: none) a payout waits for approval.
    payoutKeyCooldownSeconds: integer("payout_key_cooldown_seconds").notNull().default(86400),
    payoutDailyLimitCents: integer("payout_daily_limit_cents").notNull().default(500000),
    approvalThresholdCents: integer("approval_threshold_cents"),
  },
  () => [
    check("settlement_config_singleton", sql`id = 1`),
    check(
      "settlement_config_values_check",
      sql`delay_business_days >= 0 AND min_payout_cents > 0 AND payout_fee_cents >= 0 AND credit_floor_cents <= 0`,
    ),
  ],
);

/** A driver's share of a confirmed payment, released pending → available on `due_on`. */
export const settlements = sqliteTable(
  "settlements",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    /** The posting that credited the driver's pending balance. */
    sourceTransactionId: text("source_transaction_id").notNull(),
    rideId: text("ride_id"),
    amountCents: integer("amount_cents").notNull(),
    /** Business date (YYYY-MM-DD, America/Sao_Paulo) from which it may be released. */
    dueOn: text("due_on").notNull(),
    status: text("status", { enum: ["scheduled", "released"] }).notNull(),
    releaseTransactionId: text("release_transaction_id"),
    createdAt: text("created_at").notNull(),
    releasedAt: text("released_at"),
  },
  (t) => [
    uniqueIndex("settlements_source_unique").on(t.sourceTransactionId),
    index("settlements_due_idx").on(t.status, t.dueOn),
    index("settlements_driver_idx").on(t.driverId, t.id),
    check("settlements_amount_check", sql`amount_cents > 0`),
  ],
);

/**
 * A Pix key a driver registered for payouts, checked at Efí to belong to the driver's own CPF.
 * Payouts go only to a live key (`removed_at` null) once `usable_from` (creation + cool-down) has
 * passed. A key is unique per driver while live.
 */
export const payoutKeys = sqliteTable(
  "payout_keys",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    /** Normalised as sent to Efí (digits for CPF/CNPJ, +55… for phones, lower-case e-mail). */
    pixKey: text("pix_key").notNull(),
    pixKeyType: text("pix_key_type", { enum: ["cpf", "cnpj", "email", "phone", "evp"] }).notNull(),
    /** The account holder's name as Efí reported it. */
    holderName: text("holder_name"),
    usableFrom: text("usable_from").notNull(),
    createdAt: text("created_at").notNull(),
    removedAt: text("removed_at"),
  },
  (t) => [
    index("payout_keys_driver_idx").on(t.driverId, t.id),
    uniqueIndex("payout_keys_live_unique").on(t.driverId, t.pixKey).where(sql`removed_at IS NULL`),
  ],
);

export const PAYOUT_STATUSES = ["in_transit", "paid", "failed"] as const;

export const payouts = sqliteTable(
  "payouts",
  {
    id: text("id").primaryKey(),
    driverId: text("driver_id")
      .notNull()
      .references(() => users.id),
    amountCents: integer("amount_cents").notNull(),
    feeCents: integer("fee_cents").notNull(),
    pixKey: text("pix_key").notNull(),
    pixKeyType: text("pix_key_type", { enum: ["cpf", "cnpj", "email", "phone", "evp"] }).notNull(),
    status: text("status", { enum: PAYOUT_STATUSES }).notNull(),
    rail: text("rail").notNull(),
    /** The rail's own id for the transfer (Efí's idEnvio / e2eId). */
    railReference: text("rail_reference"),
    requestTransactionId: text("request_transaction_id").notNull(),
    outcomeTransactionId: text("outcome_transaction_id"),
    failureReason: text("failure_reason"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("payouts_driver_idx").on(t.driverId, t.id),
    index("payouts_status_idx").on(t.status),
    check("payouts_amount_check", sql`amount_cents > 0 AND fee_cents >= 0`),
  ],
);

/** Queue messages that exhausted their retries, kept for a person to look at (DLQ consumers). */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("dead_letters_message_unique").on(t.queue, t.messageId)],
);

// ---------------------------------------------------------------------------------------------
// Payments (Efí Pix and card)

export const PAYMENT_STATUSES = [
  "pending",
  "paid",
  "failed",
  "expired",
  "refunded",
  "partially_refunded",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * A charge to a passenger (a ride) or a driver (a prepaid credit top-up). A Pix payment holds its
 * Efí charge (txid, location, copia e cola, QR); a card payment its charge id. An expired Pix
 * charge is replaced by a new txid on the same payment (`attempt` counts them).
 */
export const payments = sqliteTable(
  "payments",
  {
    id: text("id").primaryKey(),
    purpose: text("purpose", { enum: ["ride", "credit_topup"] }).notNull(),
    rideId: text("ride_id").references(() => rides.id),
    /** Who pays: the passenger of a ride, the driver of a top-up. */
    payerId: text("payer_id")
      .notNull()
      .references(() => users.id),
    method: text("method", { enum: ["pix", "card"] }).notNull(),
    status: text("status", { enum: PAYMENT_STATUSES }).notNull(),
    amountCents: integer("amount_cents").notNull(),
    refundedCents: integer("refunded_cents").notNull().default(0),
    attempt: integer("attempt").notNull().default(1),
    txid: text("txid"),
    locId: integer("loc_id"),
    copiaECola: text("copia_e_cola"),
    qrCodePng: text("qr_code_png"),
    endToEndId: text("end_to_end_id"),
    cardChargeId: text("card_charge_id"),
    failureReason: text("failure_reason"),
    ledgerTransactionId: text("ledger_transaction_id"),
    expiresAt: text("expires_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    paidAt: text("paid_at"),
  },
  (t) => [
    // One ride payment per ride: creating it twice is a no-op, not a second charge.
    uniqueIndex("payments_ride_unique").on(t.rideId).where(sql`purpose = 'ride'`),
    uniqueIndex("payments_txid_unique").on(t.txid),
    uniqueIndex("payments_e2e_unique").on(t.endToEndId),
    index("payments_status_expires_idx").on(t.status, t.expiresAt),
    index("payments_payer_idx").on(t.payerId, t.id),
    check(
      "payments_amounts_check",
      sql`amount_cents > 0 AND refunded_cents >= 0 AND refunded_cents <= amount_cents`,
    ),
  ],
);

/** A refund of a payment, sent through Efí; the ledger moves when Efí confirms it. */
export const refunds = sqliteTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    amountCents: integer("amount_cents").notNull(),
    status: text("status", { enum: ["processing", "refunded", "failed"] }).notNull(),
    /** Efí's rtrId for a Pix refund, or the card API's reference. */
    providerReference: text("provider_reference"),
    reason: text("reason"),
    requestedBy: text("requested_by").references(() => users.id),
    ledgerTransactionId: text("ledger_transaction_id"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("refunds_payment_idx").on(t.paymentId),
    // A refund the payer's bank made (MED) is recorded by Efí's rtrId: once, however often told.
    uniqueIndex("refunds_provider_reference_unique").on(t.providerReference),
    check("refunds_amount_check", sql`amount_cents > 0`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Reconciliation with Efí: what Efí's own statement reports per day, and refunds of received Pix
// that paid nothing of ours (flagged: a duplicate, an unknown txid), which have no payment row.

/** Per São Paulo day, what Efí's own lists report: Pix received on our key (and refunded of them), Pix sent. */
export const efiDailyTotals = sqliteTable("efi_daily_totals", {
  day: text("day").primaryKey(),
  receivedCents: integer("received_cents").notNull(),
  receivedCount: integer("received_count").notNull(),
  /** Refunds (devoluções) Efí shows as made of those Pix. */
  refundedCents: integer("refunded_cents").notNull(),
  /** Pix sends (payouts) Efí shows as settled (`REALIZADO`) that day. */
  sentCents: integer("sent_cents").notNull().default(0),
  sentCount: integer("sent_count").notNull().default(0),
  updatedAt: text("updated_at").notNull(),
});

/** A refund of a flagged received Pix: money that reached us for nothing, returned by an admin. */
export const flaggedPixRefunds = sqliteTable(
  "flagged_pix_refunds",
  {
    id: text("id").primaryKey(),
    endToEndId: text("end_to_end_id").notNull(),
    webhookEventId: text("webhook_event_id")
      .notNull()
      .references(() => webhookEvents.id),
    amountCents: integer("amount_cents").notNull(),
    status: text("status", { enum: ["processing", "refunded", "failed"] }).notNull(),
    providerReference: text("provider_reference"),
    reason: text("reason"),
    requestedBy: text("requested_by").references(() => users.id),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    // One live refund per flagged Pix (always of all of it): a second request finds this one.
    // A refund Efí refused (`failed`) does not count, so an admin may ask again.
    uniqueIndex("flagged_pix_refunds_e2e_live_unique").on(t.endToEndId).where(sql`status <> 'failed'`),
    check("flagged_pix_refunds_amount_check", sql`amount_cents > 0`),
  ],
);

/**
 * Every item of every Efí webhook, stored once (unique by end-to-end id, kind and refund id) and
 * processed by the payments queue. A replayed or duplicated webhook finds its row and does nothing.
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["pix_received", "refund", "pix_sent"] }).notNull(),
    endToEndId: text("end_to_end_id").notNull(),
    /** The refund's id for refund items; empty for the others (part of the unique key). */
    subId: text("sub_id").notNull().default(""),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["received", "processed", "flagged"] }).notNull(),
    detail: text("detail"),
    receivedAt: text("received_at").notNull(),
    processedAt: text("processed_at"),
  },
  (t) => [
    uniqueIndex("webhook_events_item_unique").on(t.endToEndId, t.kind, t.subId),
    index("webhook_events_status_idx").on(t.status),
  ],
);

/** A passenger's tokenized card (the token comes from the provider's device SDK). */
export const paymentMethods = sqliteTable(
  "payment_methods",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    kind: text("kind", { enum: ["card"] }).notNull(),
    paymentToken: text("payment_token").notNull(),
    brand: text("brand").notNull(),
    last4: text("last4").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("payment_methods_user_idx").on(t.userId, t.id)],
);

// ---------------------------------------------------------------------------------------------
// Notifications: the phones a user registered for push, and the in-app inbox (every push is also
// an inbox row).

export const DEVICE_PLATFORMS = ["android", "ios"] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORMS)[number];

/**
 * A user's phone: its FCM registration token, which belongs to one user at a time. The API names
 * a device by its id, never by its token in a URL (URLs are logged).
 */
export const devices = sqliteTable(
  "devices",
  {
    id: text("id").primaryKey(),
    token: text("token").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    platform: text("platform", { enum: DEVICE_PLATFORMS }).notNull(),
    createdAt: text("created_at").notNull(),
    lastSeenAt: text("last_seen_at").notNull(),
  },
  (t) => [uniqueIndex("devices_token_idx").on(t.token), index("devices_user_idx").on(t.userId)],
);

/**
 * One notification of one user. `dedup_key` (event id and user) makes a job that runs twice
 * write one row; `pushed_at` is set once the push went out, so a rerun does not push again, and
 * `push_claimed_at` holds off a concurrent run of the same job while one is pushing.
 */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    kind: text("kind").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    /** JSON object of strings: what the app needs to open the right screen. */
    data: text("data").notNull(),
    dedupKey: text("dedup_key").notNull(),
    createdAt: text("created_at").notNull(),
    readAt: text("read_at"),
    pushClaimedAt: text("push_claimed_at"),
    pushedAt: text("pushed_at"),
  },
  (t) => [
    uniqueIndex("notifications_dedup_key_idx").on(t.dedupKey),
    index("notifications_user_idx").on(t.userId, t.id),
  ],
);
