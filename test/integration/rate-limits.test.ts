import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, PASSWORD, type Reply, registerUser, type TestUser, unique } from "../helpers";
import { requestedRide, requestRide } from "../ride-helpers";

// Date stands still at the real present: windows are aligned to the epoch, so no test straddles
// two of them, and Retry-After is exactly what is left of the window.
let frozenMs = 0;
beforeEach(() => {
  frozenMs = Date.now();
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(frozenMs);
});
afterEach(() => {
  vi.useRealTimers();
});

function expectLimited(reply: Reply, windowSeconds: number) {
  expectProblem(reply, 429, "rate_limited");
  const now = Math.floor(frozenMs / 1000);
  expect(reply.headers.get("retry-after")).toBe(String(windowSeconds - (now % windowSeconds)));
}

const octet = () => Math.floor(Math.random() * 250) + 1;
const testIp = () => `198.51.${octet()}.${octet()}`;

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("registration: 20 an hour per client IP", () => {
  const register = (email: string, ip: string) =>
    call("POST", "/v1/auth/register", {
      body: { name: "Rate Test", email, phone: "+5511987654321", password: PASSWORD, role: "passenger" },
      headers: { "cf-connecting-ip": ip },
    });

  it("answers the 21st with 429 and Retry-After and creates no account; another IP is unaffected", async () => {
    const ip = testIp();
    for (let i = 0; i < 20; i++) {
      const reply = await register(`reg-${unique()}@example.com`, ip);
      expect(reply.status, reply.text).toBe(201);
    }
    const email = `reg-${unique()}@example.com`;
    expectLimited(await register(email, ip), 3600);
    expect(await count("SELECT count(*) AS n FROM users WHERE email = ?", email)).toBe(0);

    expect((await register(email, testIp())).status).toBe(201);
  });
});

describe("sign-in failures: 10 per 15 minutes per account and client IP", () => {
  const login = (user: TestUser, password: string, ip: string) =>
    call("POST", "/v1/auth/login", {
      body: { email: user.email, password },
      headers: { "cf-connecting-ip": ip },
    });
  const sessions = (user: TestUser) =>
    count("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?", user.id);

  it("locks the pair out, even with the right password, but not the account from another IP", async () => {
    const user = await registerUser();
    const stranger = testIp();
    for (let i = 0; i < 10; i++) {
      expectProblem(await login(user, "wrong-password-1", stranger), 401, "invalid_credentials");
    }
    const locked = await login(user, user.password, stranger);
    expectLimited(locked, 900);
    expect(locked.json.access_token).toBeUndefined();
    expect(await sessions(user)).toBe(1);

    // The stranger's failures do not lock the owner out from the owner's own address.
    const owner = await login(user, user.password, user.ip);
    expect(owner.status, owner.text).toBe(200);
    expect(await sessions(user)).toBe(2);
    // Nor do they unlock the stranger's pair.
    expectLimited(await login(user, user.password, stranger), 900);
  });

  it("starts the pair's count again after a successful sign-in", async () => {
    const user = await registerUser();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 9; i++) {
        expectProblem(await login(user, "wrong-password-1", user.ip), 401, "invalid_credentials");
      }
      expect((await login(user, user.password, user.ip)).status).toBe(200);
    }
    // 20 attempts in one window from one address: fine, because the successes reset the pair.
    expectProblem(await login(user, "wrong-password-1", user.ip), 401, "invalid_credentials");
  });
});

describe("quotes: 60 a minute per passenger", () => {
  const quote = (passenger: TestUser) =>
    call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: {
        pickup: { lat: -23.5503, lng: -46.6339 },
        dropoff: { lat: -23.5614, lng: -46.6559 },
        category: "pop",
      },
    });
  const quotesOf = (passenger: TestUser) =>
    count("SELECT count(*) AS n FROM quotes WHERE passenger_id = ?", passenger.id);

  it("answers the 61st with 429 and stores no quote; another passenger is unaffected", async () => {
    const passenger = await registerUser();
    for (let i = 0; i < 60; i++) {
      const reply = await quote(passenger);
      expect(reply.status, reply.text).toBe(200);
    }
    expectLimited(await quote(passenger), 60);
    expect(await quotesOf(passenger)).toBe(60);

    const other = await registerUser();
    expect((await quote(other)).status).toBe(200);
  });
});

describe("ride requests and cancellations per user", () => {
  const ridesOf = (passenger: TestUser) =>
    count("SELECT count(*) AS n FROM rides WHERE passenger_id = ?", passenger.id);
  const cancel = (user: TestUser, rideId: string) =>
    call("POST", `/v1/rides/${rideId}/cancel`, {
      token: user.accessToken,
      body: { reason: "changed my mind" },
    });

  it("allows 10 requests in 10 minutes; the 11th is 429 and creates no ride; another passenger is unaffected", async () => {
    const passenger = await registerUser();
    for (let i = 0; i < 10; i++) {
      const ride = await requestRide(passenger);
      expect(ride.status, ride.text).toBe(201);
      const cancelled = await cancel(passenger, ride.json.id);
      expect(cancelled.status, cancelled.text).toBe(200);
    }
    const refused = await requestRide(passenger);
    expectLimited(refused, 600);
    expect(await ridesOf(passenger)).toBe(10);

    const other = await registerUser();
    expect((await requestRide(other)).status).toBe(201);
  });

  it("allows 10 cancellations an hour; the 11th is 429 and leaves the ride requested", async () => {
    const { passenger, ride } = await requestedRide();
    for (let i = 0; i < 10; i++) {
      expectProblem(await cancel(passenger, `ride_NOSUCH${unique().toUpperCase()}`), 404, "not_found");
    }
    expectLimited(await cancel(passenger, ride.id), 3600);
    const row = await env.DB.prepare("SELECT status FROM rides WHERE id = ?")
      .bind(ride.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("requested");

    const other = await requestedRide();
    expect((await cancel(other.passenger, other.ride.id)).status).toBe(200);
  });
});

describe("credit top-ups: at most 3 pending per driver", () => {
  const topup = (driver: TestUser) =>
    call("POST", "/v1/wallet/credit/topups", {
      token: driver.accessToken,
      headers: { "idempotency-key": unique() },
      body: { amount_cents: 2000 },
    });
  const paymentsOf = (driver: TestUser) =>
    count("SELECT count(*) AS n FROM payments WHERE payer_id = ?", driver.id);

  it("answers the 4th with 429 until one lapses, and issues no charge; another driver is unaffected", async () => {
    const driver = await registerUser("driver");
    for (let i = 0; i < 3; i++) {
      const reply = await topup(driver);
      expect(reply.status, reply.text).toBe(201);
    }
    const refused = await topup(driver);
    expectProblem(refused, 429, "rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(Number(env.PIX_CHARGE_TTL_SECONDS));
    expect(await paymentsOf(driver)).toBe(3);

    const other = await registerUser("driver");
    expect((await topup(other)).status).toBe(201);

    // A lapsed charge no longer holds a slot.
    await env.DB.prepare(
      "UPDATE payments SET expires_at = ? WHERE id = (SELECT id FROM payments WHERE payer_id = ? ORDER BY id LIMIT 1)",
    )
      .bind(new Date(frozenMs - 1000).toISOString(), driver.id)
      .run();
    expect((await topup(driver)).status).toBe(201);
    expect(await paymentsOf(driver)).toBe(4);
  });
});
