import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { haversineMeters, type LatLng } from "../../src/lib/geo";
import { computeFare } from "../../src/services/pricing/fares";
import { call, expectProblem, registerUser, type TestUser } from "../helpers";
import {
  bearer,
  onlineDriver,
  openSocket,
  PAULISTA,
  postRide,
  requestedRide,
  rideRow,
  rideState,
  SE,
  sendLocation,
} from "../ride-helpers";

// The server's clock decides speeds (GPS jumps) and the trip's duration: it is driven by hand.
let clock = 0;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  clock = Date.now();
  vi.setSystemTime(clock);
});
afterEach(() => {
  vi.useRealTimers();
});
const advance = (ms: number) => {
  clock += ms;
  vi.setSystemTime(clock);
};

/** The streets between Sé and Paulista, as a car drives them: south, then west (about 3.5 km). */
const STREETS: LatLng[] = [SE, { lat: PAULISTA.lat, lng: SE.lng }, PAULISTA];
/** A genuine detour through the south (about 7.5 km). */
const DETOUR: LatLng[] = [SE, { lat: -23.575, lng: SE.lng }, { lat: -23.575, lng: PAULISTA.lng }, PAULISTA];
/** A far longer one, looping down to Santo Amaro and back (about 24 km). */
const LONG_DETOUR: LatLng[] = [
  SE,
  { lat: -23.65, lng: SE.lng },
  { lat: -23.65, lng: PAULISTA.lng },
  PAULISTA,
];

/** The i-th point of a path, which must exist. */
function nth(path: LatLng[], i: number): LatLng {
  const point = path[i];
  if (!point) throw new Error(`no point ${i}`);
  return point;
}

function length(path: LatLng[]): number {
  let metres = 0;
  for (let i = 1; i < path.length; i++) metres += haversineMeters(nth(path, i - 1), nth(path, i));
  return metres;
}

/** Points every `stepM` metres along the path, its last point included. */
function along(path: LatLng[], stepM: number): LatLng[] {
  const points: LatLng[] = [nth(path, 0)];
  for (let i = 1; i < path.length; i++) {
    const [a, b] = [nth(path, i - 1), nth(path, i)];
    const steps = Math.max(1, Math.ceil(haversineMeters(a, b) / stepM));
    for (let s = 1; s <= steps; s++) {
      points.push({ lat: a.lat + ((b.lat - a.lat) * s) / steps, lng: a.lng + ((b.lng - a.lng) * s) / steps });
    }
  }
  return points;
}

/** The driver's app pings every 4 s while driving the path at `speed` m/s. */
async function drive(driver: TestUser, path: LatLng[], speed = 20) {
  for (const point of along(path, speed * 4)) {
    advance(4_000);
    await sendLocation(driver, point);
  }
}

/** A cash ride (no payment provider involved) taken by a driver at the pickup, and started. */
async function tripInProgress() {
  const { passenger, ride } = await requestedRide({ payment_method: "cash" });
  const driver = await onlineDriver("pop", SE);
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  return { passenger, driver, ride: ride as typeof ride & { estimated_fare_cents: number } };
}

async function popRule() {
  const rule = await env.DB.prepare("SELECT * FROM pricing_rules WHERE id = 'prc_sp_pop_2026'").first<any>();
  return {
    baseFareCents: rule.base_fare_cents,
    perKmCents: rule.per_km_cents,
    perMinuteCents: rule.per_minute_cents,
    minimumFareCents: rule.minimum_fare_cents,
    bookingFeeCents: rule.booking_fee_cents,
    surgeMultiplierBp: rule.surge_multiplier_bp,
  };
}

describe("the server measures the trip: the fare never depends on the driver's figures", () => {
  it("a driver claiming 1,000 km and 24 h on a normal trip is charged the quote", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, STREETS);
    const reply = await postRide(driver.accessToken, ride.id, "complete", {
      distance_m: 1_000_000,
      duration_s: 86_400,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "completed",
      final_fare_cents: ride.estimated_fare_cents,
      fare_review: null,
      driver_reported_distance_m: 1_000_000,
      driver_reported_duration_s: 86_400,
    });
    // The measure is the server's: the streets' length, and the seconds its own clock saw.
    expect(Math.abs(reply.json.distance_m - length(STREETS))).toBeLessThan(length(STREETS) * 0.02);
    expect(reply.json.duration_s).toBe(
      Math.round((Date.parse(reply.json.completed_at) - Date.parse(reply.json.started_at)) / 1000),
    );
    expect(await rideRow(ride.id)).toMatchObject({
      final_fare_cents: ride.estimated_fare_cents,
      driver_reported_distance_m: 1_000_000,
    });
  });

  it("a driver claiming 0 m and 0 s is charged the quote too", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, STREETS);
    const reply = await postRide(driver.accessToken, ride.id, "complete", { distance_m: 0, duration_s: 0 });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ final_fare_cents: ride.estimated_fare_cents, fare_review: null });
    // The cash commission is taken on the quote, not on the minimum fare.
    const credit = await env.DB.prepare("SELECT balance FROM ledger_accounts WHERE id = ?")
      .bind(`driver:${driver.id}:credit`)
      .first<{ balance: number }>();
    expect(credit?.balance).toBe(-Math.max(100, Math.round(ride.estimated_fare_cents * 0.2)));
  });

  it("a genuine detour is charged the measured fare, within the cap, and flagged for review", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, DETOUR);
    const reply = await postRide(driver.accessToken, ride.id, "complete", {
      distance_m: 3000,
      duration_s: 600,
    });
    expect(reply.status, reply.text).toBe(200);
    const done = reply.json;
    expect(Math.abs(done.distance_m - length(DETOUR))).toBeLessThan(length(DETOUR) * 0.02);
    const measured = computeFare(await popRule(), {
      distance_m: done.distance_m,
      duration_s: done.duration_s,
    });
    expect(done.final_fare_cents).toBe(measured);
    expect(measured).toBeGreaterThan(ride.estimated_fare_cents);
    expect(measured).toBeLessThanOrEqual(ride.estimated_fare_cents * 2);
    expect(done.fare_review).toMatch(/measured/);
    expect(await rideRow(ride.id)).toMatchObject({
      fare_review: done.fare_review,
      final_fare_cents: measured,
    });
  });

  it("a detour far beyond the quote is capped at twice the quote", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, LONG_DETOUR, 45);
    const reply = await postRide(driver.accessToken, ride.id, "complete");
    expect(reply.status, reply.text).toBe(200);
    expect(
      computeFare(await popRule(), { distance_m: reply.json.distance_m, duration_s: reply.json.duration_s }),
    ).toBeGreaterThan(ride.estimated_fare_cents * 2);
    expect(reply.json.final_fare_cents).toBe(ride.estimated_fare_cents * 2);
    expect(reply.json.fare_review).toMatch(/capped/);
  });

  it("GPS jumps are ignored: a normal trip with points kilometres away is still the quote", async () => {
    const { driver, ride } = await tripInProgress();
    const points = along(STREETS, 80);
    for (const [i, point] of points.entries()) {
      advance(4_000);
      await sendLocation(driver, point);
      // Every tenth ping, one from 30 km away a second later: 30 km/s.
      if (i % 10 === 5) {
        advance(1_000);
        await sendLocation(driver, { lat: point.lat - 0.27, lng: point.lng });
      }
    }
    const reply = await postRide(driver.accessToken, ride.id, "complete");
    expect(reply.status, reply.text).toBe(200);
    expect(Math.abs(reply.json.distance_m - length(STREETS))).toBeLessThan(length(STREETS) * 0.02);
    expect(reply.json).toMatchObject({ final_fare_cents: ride.estimated_fare_cents, fare_review: null });
  });

  it("a trip with too few points (the app was offline) is charged the quote", async () => {
    const { driver, ride } = await tripInProgress();
    // Three plausible positions along a long detour: too few to measure it.
    for (const point of [nth(LONG_DETOUR, 1), nth(LONG_DETOUR, 2), PAULISTA]) {
      advance(250_000);
      await sendLocation(driver, point);
    }
    const reply = await postRide(driver.accessToken, ride.id, "complete");
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      final_fare_cents: ride.estimated_fare_cents,
      distance_m: null,
      fare_review: null,
    });
  });
});

describe("complete refuses far from the dropoff unless the passenger ended early", () => {
  it("refuses 422 halfway, changing nothing; completes at the dropoff", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, STREETS.slice(0, 2));
    const before = await rideState(ride.id);
    expectProblem(await postRide(driver.accessToken, ride.id, "complete"), 422, "trip_too_far_from_dropoff");
    expect(await rideState(ride.id)).toEqual(before);
    await drive(driver, STREETS.slice(1));
    expect((await postRide(driver.accessToken, ride.id, "complete")).status).toBe(200);
  });

  it("a ping teleported to the dropoff does not place the driver there", async () => {
    const { driver, ride } = await tripInProgress();
    await drive(driver, [SE, { lat: -23.553, lng: SE.lng }]);
    advance(1_000);
    await sendLocation(driver, PAULISTA);
    expectProblem(await postRide(driver.accessToken, ride.id, "complete"), 422, "trip_too_far_from_dropoff");
    expect(await rideRow(ride.id)).toMatchObject({ status: "in_progress", final_fare_cents: null });
  });

  it("refuses a driver who sent no position at all", async () => {
    const { passenger, ride } = await requestedRide({ payment_method: "cash" });
    const driver = await onlineDriver("pop", SE);
    for (const step of ["accept", "arrive", "start"]) await postRide(driver.accessToken, ride.id, step);
    expectProblem(await postRide(driver.accessToken, ride.id, "complete"), 422, "trip_too_far_from_dropoff");
    expect((await rideRow(ride.id))?.status).toBe("in_progress");
    expect(passenger.id).toBeTruthy();
  });

  it("after the passenger ends early, complete is allowed anywhere and the fare is at most the quote", async () => {
    const { passenger, driver, ride } = await tripInProgress();
    const socket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(driver.accessToken));
    const half = [SE, { lat: -23.558, lng: SE.lng }];
    await drive(driver, half);
    // Only the ride's passenger may: the driver is refused by role, another passenger sees nothing.
    expectProblem(await postRide(driver.accessToken, ride.id, "end-early"), 403, "forbidden");
    const stranger = await registerUser("passenger");
    expectProblem(await postRide(stranger.accessToken, ride.id, "end-early"), 404, "not_found");
    const ended = await postRide(passenger.accessToken, ride.id, "end-early");
    expect(ended.status, ended.text).toBe(200);
    expect(ended.json.status).toBe("in_progress");
    expect((await postRide(passenger.accessToken, ride.id, "end-early")).status).toBe(200);
    await socket.next((m) => m.type === "ride.ended_early");
    const reply = await postRide(driver.accessToken, ride.id, "complete", { distance_m: 999_999 });
    expect(reply.status, reply.text).toBe(200);
    const done = reply.json;
    expect(typeof done.ended_early_at).toBe("string");
    const measured = computeFare(await popRule(), {
      distance_m: done.distance_m,
      duration_s: done.duration_s,
    });
    expect(Math.abs(done.distance_m - length(half))).toBeLessThan(length(half) * 0.03);
    expect(done.final_fare_cents).toBe(Math.min(measured, ride.estimated_fare_cents));
    expect(done.final_fare_cents).toBeLessThan(ride.estimated_fare_cents);
    expect(socket.messages.filter((m) => m.type === "ride.ended_early")).toHaveLength(1);
    socket.socket.close();
  });

  it("ending early is refused before the trip starts", async () => {
    const { passenger, ride } = await requestedRide({ payment_method: "cash" });
    expectProblem(await postRide(passenger.accessToken, ride.id, "end-early"), 409, "invalid_transition");
  });
});

describe("proximity and visibility", () => {
  it("accept from beyond the dispatch radius is refused, and the ride stays on offer", async () => {
    const { ride } = await requestedRide({ payment_method: "cash" });
    // About 11 km north of the pickup.
    const far = await onlineDriver("pop", { lat: -23.45, lng: SE.lng });
    const before = await rideState(ride.id);
    expectProblem(await postRide(far.accessToken, ride.id, "accept"), 409, "driver_too_far");
    expect(await rideState(ride.id)).toEqual(before);
    const near = await onlineDriver("pop", SE);
    expect((await postRide(near.accessToken, ride.id, "accept")).status).toBe(200);
  });

  it("accept without a fresh position is refused until the driver sends one", async () => {
    const { ride } = await requestedRide({ payment_method: "cash" });
    const driver = await onlineDriver("pop", SE);
    advance(61_000);
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "driver_position_stale");
    expect((await rideRow(ride.id))?.status).toBe("requested");
    await sendLocation(driver, SE);
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
  });

  it("an offline driver cannot list rides; an online one sees them around his own position only", async () => {
    const { ride } = await requestedRide({ payment_method: "cash" });
    const offline = await onlineDriver("pop", SE);
    expect((await call("POST", "/v1/drivers/me/offline", { token: offline.accessToken })).status).toBe(200);
    const query = `?lat=${SE.lat}&lng=${SE.lng}`;
    expectProblem(
      await call("GET", `/v1/rides/available${query}`, { token: offline.accessToken }),
      409,
      "driver_offline",
    );
    // Online 11 km away: naming the pickup in the query does not move the search.
    const far = await onlineDriver("pop", { lat: -23.45, lng: SE.lng });
    const farList = await call("GET", `/v1/rides/available${query}`, { token: far.accessToken });
    expect(farList.status, farList.text).toBe(200);
    expect(farList.json.items.map((r: { id: string }) => r.id)).not.toContain(ride.id);
    const near = await onlineDriver("pop", SE);
    const nearList = await call("GET", "/v1/rides/available", { token: near.accessToken });
    const item = nearList.json.items.find((r: { id: string }) => r.id === ride.id);
    expect(item).toMatchObject({
      pickup: { lat: -23.55, lng: -46.634 },
      dropoff: { lat: -23.56, lng: -46.66 },
    });
    expect(item).not.toHaveProperty("passenger_id");
  });

  it("a driver not assigned sees a requested ride as an offer: no passenger, no exact points", async () => {
    const { passenger, ride } = await requestedRide({
      payment_method: "cash",
      pickup: { lat: -23.55037, lng: -46.63391 },
      dropoff: { lat: -23.56148, lng: -46.65594 },
    });
    const other = await onlineDriver("pop", SE);
    const seen = await call("GET", `/v1/rides/${ride.id}`, { token: other.accessToken });
    expect(seen.status, seen.text).toBe(200);
    expect(seen.json).toEqual({
      id: ride.id,
      status: "requested",
      category: "pop",
      pickup: { lat: -23.55, lng: -46.634 },
      dropoff: { lat: -23.56, lng: -46.66 },
      payment_method: "cash",
      estimated_fare_cents: ride.estimated_fare_cents,
      estimated_distance_m: ride.estimated_distance_m,
      estimated_duration_s: ride.estimated_duration_s,
      created_at: ride.created_at,
      expires_at: ride.expires_at,
    });
    expect(seen.text).not.toContain(passenger.id);
    // The passenger sees the ride; once assigned, so does the driver.
    expect((await call("GET", `/v1/rides/${ride.id}`, { token: passenger.accessToken })).json.pickup).toEqual(
      {
        lat: -23.55037,
        lng: -46.63391,
      },
    );
    expect((await postRide(other.accessToken, ride.id, "accept")).status).toBe(200);
    const assigned = await call("GET", `/v1/rides/${ride.id}`, { token: other.accessToken });
    expect(assigned.json).toMatchObject({
      passenger_id: passenger.id,
      dropoff: { lat: -23.56148, lng: -46.65594 },
    });
  });
});
