import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { haversineMeters, type LatLng } from "../../src/lib/geo";
import { computeFare } from "../../src/services/pricing/fares";
import { call, createStaff, registerUser, type TestUser, unique } from "../helpers";
import { onlineDriver, PAULISTA, postRide, rideRow, SE, sendLocation } from "../ride-helpers";

// A fare re-priced from the measured trip (a detour beyond tolerance) keeps the surge the ride was
// priced with at request, whatever staff set or let expire since. The server's clock is driven by
// hand: the surge expires between the quote and the request, and the trip's speed is plausible.
let clock = 0;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  // Never back in time: a surge an earlier test let expire must stay expired.
  clock = Math.max(Date.now(), clock + 1);
  vi.setSystemTime(clock);
});
afterEach(() => {
  vi.useRealTimers();
});
const advance = (ms: number) => {
  clock += ms;
  vi.setSystemTime(clock);
};

/** A genuine detour through the south (about 7.5 km against the quote's 3.5 km). */
const DETOUR: LatLng[] = [SE, { lat: -23.575, lng: SE.lng }, { lat: -23.575, lng: PAULISTA.lng }, PAULISTA];

/** The driver's app pings every 4 s while driving the path at 20 m/s, one point every 80 m. */
async function drive(driver: TestUser, path: LatLng[]) {
  for (let i = 1; i < path.length; i++) {
    const [a, b] = [path[i - 1] as LatLng, path[i] as LatLng];
    const steps = Math.max(1, Math.ceil(haversineMeters(a, b) / 80));
    for (let s = 1; s <= steps; s++) {
      advance(4_000);
      await sendLocation(driver, {
        lat: a.lat + ((b.lat - a.lat) * s) / steps,
        lng: a.lng + ((b.lng - a.lng) * s) / steps,
      });
    }
  }
}

async function setSurge(staff: TestUser, multiplierBp: number, expiresInMs: number) {
  const reply = await call("POST", "/v1/admin/surge", {
    token: staff.accessToken,
    body: {
      city_id: "sao_paulo",
      category: "pop",
      zone: null,
      multiplier_bp: multiplierBp,
      expires_at: new Date(clock + expiresInMs).toISOString(),
      reason: "rain at rush hour",
    },
  });
  expect(reply.status, reply.text).toBe(201);
}

async function quotePop(passenger: TestUser) {
  const reply = await call("POST", "/v1/rides/quote", {
    token: passenger.accessToken,
    body: { pickup: SE, dropoff: PAULISTA, category: "pop" },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json as { quote_id: string; estimated_fare_cents: number; surge_multiplier: number };
}

async function requestCash(passenger: TestUser, quoteId?: string) {
  const reply = await call("POST", "/v1/rides", {
    token: passenger.accessToken,
    headers: { "idempotency-key": unique() },
    body: {
      pickup: SE,
      dropoff: PAULISTA,
      category: "pop",
      payment_method: "cash",
      ...(quoteId ? { quote_id: quoteId } : {}),
    },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json as { id: string; estimated_fare_cents: number };
}

/** Accepted, driven the long way round and completed at the dropoff. */
async function detourTrip(driver: TestUser, rideId: string) {
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, rideId, step);
    expect(reply.status, reply.text).toBe(200);
  }
  await drive(driver, DETOUR);
  const done = await postRide(driver.accessToken, rideId, "complete");
  expect(done.status, done.text).toBe(200);
  expect(done.json.fare_review).toMatch(/measured/);
  return done.json as { final_fare_cents: number; distance_m: number; duration_s: number };
}

async function popRule(surgeMultiplierBp: number) {
  const rule = await env.DB.prepare("SELECT * FROM pricing_rules WHERE id = 'prc_sp_pop_2026'").first<any>();
  return {
    baseFareCents: rule.base_fare_cents,
    perKmCents: rule.per_km_cents,
    perMinuteCents: rule.per_minute_cents,
    minimumFareCents: rule.minimum_fare_cents,
    bookingFeeCents: rule.booking_fee_cents,
    surgeMultiplierBp,
  };
}

describe("a fare re-priced from the measured trip", () => {
  it("keeps the quote's 1.5x surge after the surge expired", async () => {
    const ops = await createStaff("ops");
    const passenger = await registerUser("passenger");
    await setSurge(ops, 15_000, 60_000);
    const quoted = await quotePop(passenger);
    expect(quoted.surge_multiplier).toBe(1.5);

    // The surge ends before the ride is requested; the quote is still valid (120 s).
    advance(61_000);
    expect((await quotePop(passenger)).surge_multiplier).toBe(1);
    const driver = await onlineDriver("pop", SE);
    const ride = await requestCash(passenger, quoted.quote_id);
    expect(ride.estimated_fare_cents).toBe(quoted.estimated_fare_cents);
    expect(await rideRow(ride.id)).toMatchObject({ surge_multiplier_bp: 15_000 });

    const done = await detourTrip(driver, ride.id);
    const measure = { distance_m: done.distance_m, duration_s: done.duration_s };
    const surged = computeFare(await popRule(15_000), measure);
    expect(surged).toBeGreaterThan(computeFare(await popRule(10_000), measure));
    expect(surged).toBeLessThanOrEqual(ride.estimated_fare_cents * 2);
    expect(done.final_fare_cents).toBe(surged);
    expect(await rideRow(ride.id)).toMatchObject({ final_fare_cents: surged });
  });

  it("charges no surge for a ride requested without one, though staff set a surge during the trip", async () => {
    const ops = await createStaff("ops");
    const passenger = await registerUser("passenger");
    const driver = await onlineDriver("pop", SE);
    const ride = await requestCash(passenger);
    expect(await rideRow(ride.id)).toMatchObject({ surge_multiplier_bp: 10_000 });

    await setSurge(ops, 20_000, 30 * 60_000);
    expect((await quotePop(passenger)).surge_multiplier).toBe(2);
    const done = await detourTrip(driver, ride.id);
    const plain = computeFare(await popRule(10_000), {
      distance_m: done.distance_m,
      duration_s: done.duration_s,
    });
    expect(plain).toBeGreaterThan(ride.estimated_fare_cents);
    expect(done.final_fare_cents).toBe(plain);
  });
});
