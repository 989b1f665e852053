// Seeding and one-off calls through the public API, with plain fetch. The load itself is
// autocannon's job (load.mjs); these are setup steps and single bursts.

import { roundTripsOf } from "./round-trips.mjs";

export const SE = { lat: -23.5503, lng: -46.6339 }; // Praça da Sé
export const PAULISTA = { lat: -23.5614, lng: -46.6559 }; // Avenida Paulista
export const RIDE_BODY = { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" };
const PASSWORD = "bench-password-2026";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let counter = 0;
/** Unique within a run and across runs against the same server (--url). */
export function unique(prefix = "") {
  counter += 1;
  return `${prefix}${RUN}-${counter}`;
}

/** A distinct client IP per registration (10.x.y.z), so per-IP limits never couple seeded users. */
function fakeIp(n) {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255 || 1}`;
}

export class ApiError extends Error {
  constructor(what, status, body) {
    super(`${what}: ${status} ${typeof body === "string" ? body : JSON.stringify(body)}`.slice(0, 600));
    this.status = status;
    this.body = body;
  }
}

/** One call; returns { status, json, text, ms }. Never throws on an HTTP status. */
export async function call(base, method, path, { token, body, raw, headers = {}, timeoutMs = 30_000 } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    method,
    headers: h,
    body: body === undefined ? raw : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, ms, roundTrips: roundTripsOf(response.headers) };
}

/** Like call(), but anything but the expected status is an error. */
export async function expectCall(base, expected, method, path, options) {
  const reply = await call(base, method, path, options);
  if (reply.status !== expected) throw new ApiError(`${method} ${path}`, reply.status, reply.text);
  return reply;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

let ipCounter = Math.floor(Math.random() * 1_000_000);

/** POST /v1/auth/register → { id, role, token }. No login: register returns the tokens. */
export async function register(base, role) {
  ipCounter += 1;
  const email = `bench-${unique(role)}@example.com`;
  const reply = await expectCall(base, 201, "POST", "/v1/auth/register", {
    body: { name: `Bench ${role}`, email, phone: "+5511987654321", password: PASSWORD, role },
    headers: { "cf-connecting-ip": fakeIp(ipCounter) },
  });
  return { id: reply.json.user.id, role, email, token: reply.json.access_token };
}

/** Signs in the staff account that approves the bench's drivers (`drivers:review`); its token. */
export async function signInReviewer(base, { email, password }) {
  const reply = await expectCall(base, 200, "POST", "/v1/auth/login", {
    body: { email, password },
    headers: { "cf-connecting-ip": "10.255.255.254" },
  });
  return reply.json.access_token;
}

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
const inYears = (n) => `${new Date().getUTCFullYear() + n}-12-31`;
const DOCUMENTS = {
  cnh: {
    "x-document-number": "04512345678",
    "x-document-expires-on": inYears(3),
    "x-cnh-ear": "true",
    "x-cnh-category": "B",
  },
  crlv: {
    "x-document-number": "00123456789",
    "x-document-expires-on": inYears(1),
    "x-vehicle-plate": "ABC1D23",
  },
  criminal_record: { "x-document-expires-on": inYears(1) },
  vehicle_photo: {},
  selfie: {},
};

/**
 * A driver with a pop vehicle, online at `at`. Only approved drivers may go online: he uploads
 * the five documents and the reviewer (a token from signInReviewer) approves him, as in production.
 */
export async function onlineDriver(base, reviewerToken, at = SE) {
  const driver = await register(base, "driver");
  await expectCall(base, 200, "PUT", "/v1/drivers/me/vehicle", {
    token: driver.token,
    body: { plate: "ABC1D23", model: "Onix", color: "Prata", category: "pop" },
  });
  for (const [kind, headers] of Object.entries(DOCUMENTS)) {
    await expectCall(base, 201, "PUT", `/v1/drivers/me/documents/${kind}`, {
      token: driver.token,
      raw: JPEG,
      headers: { "content-type": "image/jpeg", ...headers },
    });
  }
  await expectCall(base, 200, "POST", `/v1/admin/drivers/${driver.id}/approve`, { token: reviewerToken });
  await expectCall(base, 200, "POST", "/v1/drivers/me/online", { token: driver.token, body: at });
  return driver;
}

/** POST /v1/rides for the passenger → the ride. */
export async function requestRide(base, passenger) {
  const reply = await expectCall(base, 201, "POST", "/v1/rides", {
    token: passenger.token,
    headers: { "idempotency-key": unique("ride-") },
    body: RIDE_BODY,
  });
  return reply.json;
}

/**
 * The passenger's rides still waiting for a driver are cancelled (within the grace period, so no
 * fee): a scenario that requested rides leaves no dispatch running into the next one.
 */
export async function cancelOpenRides(base, passengers) {
  let cancelled = 0;
  await pool(passengers, 8, async (passenger) => {
    const list = await call(base, "GET", "/v1/rides?limit=5", { token: passenger.token });
    for (const ride of list.json?.items ?? []) {
      if (ride.status !== "requested") continue;
      const reply = await call(base, "POST", `/v1/rides/${ride.id}/cancel`, {
        token: passenger.token,
        body: { reason: "bench: scenario over" },
      });
      if (reply.status === 200) cancelled += 1;
    }
  });
  return cancelled;
}

export async function cancelRide(base, passenger, rideId) {
  return expectCall(base, 200, "POST", `/v1/rides/${rideId}/cancel`, {
    token: passenger.token,
    body: { reason: "bench: freeing the driver" },
  });
}
