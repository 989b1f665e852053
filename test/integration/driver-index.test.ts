import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { installRoundTripCounting, observeRoundTrips, RoundTripCounter } from "../../src/lib/d1-round-trips";
import { areaOf } from "../../src/services/drivers/index-port";
import { north, type Point, spotsInOrder } from "../dispatch-helpers";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { approveDriverInD1 } from "../onboarding-helpers";
import { bearer, onlineDriver, openSocket, postRide, rideRow } from "../ride-helpers";

// wrangler.toml: DISPATCH_RADIUS_STEPS_M 2000,4000,8000; NEARBY_RADIUS_M 5000.

/** Each test works around its own pickup, far (> 16 km) from the others', all in São Paulo's area. */
const SPOTS: Point[] = [-23.4, -23.55, -23.7].flatMap((lat) =>
  [-46.78, -46.58, -46.4].map((lng) => ({ lat, lng })),
);
const spot = spotsInOrder(SPOTS);

const indexOf = (point: Point) => env.DRIVER_INDEX.get(env.DRIVER_INDEX.idFromName(areaOf(point)));

const made: { passenger: TestUser; rideId: string }[] = [];
afterEach(async () => {
  for (const { passenger, rideId } of made.splice(0)) {
    const status = (await rideRow(rideId))?.status;
    if (status === "requested" || status === "accepted") {
      await postRide(passenger.accessToken, rideId, "cancel", { reason: "test over" });
    }
  }
});

async function requestAt(pickup: Point, category = "pop") {
  const passenger = await registerUser("passenger");
  const reply = await call("POST", "/v1/rides", {
    token: passenger.accessToken,
    headers: { "idempotency-key": unique() },
    body: { pickup, dropoff: north(pickup, 3000), category, payment_method: "pix" },
  });
  expect(reply.status, reply.text).toBe(201);
  made.push({ passenger, rideId: reply.json.id });
  return { passenger, rideId: reply.json.id as string };
}

type OfferRow = { driver_id: string; batch: number; distance_m: number };

/** Waits until the ride has its first batch of offers (the room's alarm sends them). */
async function firstBatch(rideId: string): Promise<OfferRow[]> {
  for (let i = 0; i < 100; i++) {
    const { results } = await env.DB.prepare(
      "SELECT driver_id, batch, distance_m FROM ride_offers WHERE ride_id = ? AND batch = 1 ORDER BY distance_m",
    )
      .bind(rideId)
      .all<OfferRow>();
    if (results.length > 0) return results;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`ride ${rideId} got no offers`);
}

const ping = (driver: TestUser, at: Point) =>
  call("POST", "/v1/drivers/me/location", {
    token: driver.accessToken,
    body: { ...at, heading: 10, speed: 5 },
  });

async function storedPosition(driverId: string) {
  return env.DB.prepare("SELECT status, last_lat, last_lng, last_seen_at FROM drivers WHERE user_id = ?")
    .bind(driverId)
    .first<{ status: string; last_lat: number; last_lng: number; last_seen_at: string }>();
}

/** D1 round trips the whole isolate (Worker, its Durable Objects) makes while `work` runs. */
async function roundTripsOf(work: () => Promise<unknown>) {
  installRoundTripCounting(env.DB);
  // Let the background work of earlier requests (publishing, notifications) finish first.
  await new Promise((r) => setTimeout(r, 200));
  const counter = new RoundTripCounter();
  const stop = observeRoundTrips(counter);
  try {
    await work();
  } finally {
    stop();
  }
  return counter.figures().total;
}

describe("location pings", () => {
  it("refuses a ping from a driver who never went online, and from one who went offline", async () => {
    const here = spot();
    const never = await registerUser("driver");
    await approveDriverInD1(never.id);
    expectProblem(await ping(never, here), 409, "driver_offline");

    const gone = await onlineDriver("pop", here);
    expect((await ping(gone, north(here, 50))).status).toBe(202);
    expect((await call("POST", "/v1/drivers/me/offline", { token: gone.accessToken })).status).toBe(200);
    const before = await storedPosition(gone.id);
    expectProblem(await ping(gone, north(here, 80)), 409, "driver_offline");
    expect(await storedPosition(gone.id)).toEqual(before);
  });

  it("costs no D1 round trip, and reaches D1 only in the index's periodic snapshot", async () => {
    const here = spot();
    const driver = await onlineDriver("pop", here);
    // The counter does see D1: going online (again) makes round trips.
    const control = await roundTripsOf(() =>
      call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: here }),
    );
    expect(control).toBeGreaterThan(0);
    const online = await storedPosition(driver.id);
    const moved = north(here, 700);

    const trips = await roundTripsOf(async () => {
      for (const at of [north(here, 300), moved]) expect((await ping(driver, at)).status).toBe(202);
    });
    expect(trips).toBe(0);
    // D1 still has the position of going online...
    expect(await storedPosition(driver.id)).toEqual(online);

    // ...until the index's alarm writes its snapshot, one batch for every driver who moved.
    expect(await runDurableObjectAlarm(indexOf(here))).toBe(true);
    const stored = await storedPosition(driver.id);
    expect(stored).toMatchObject({ status: "online", last_lat: moved.lat, last_lng: moved.lng });
    expect(Date.parse(stored?.last_seen_at ?? "")).toBeGreaterThan(Date.parse(online?.last_seen_at ?? ""));
    // Nothing moved since: no alarm is left waiting.
    expect(await runDurableObjectAlarm(indexOf(here))).toBe(false);
  });

  it("during a ride goes to the passenger through the ride's room, still without D1", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 100));
    const { passenger, rideId } = await requestAt(pickup);
    const accepted = await postRide(driver.accessToken, rideId, "accept");
    expect(accepted.status, accepted.text).toBe(200);
    const socket = await openSocket(`/v1/rides/${rideId}/ws`, bearer(passenger.accessToken));
    const near = north(pickup, 40);

    const trips = await roundTripsOf(async () => expect((await ping(driver, near)).status).toBe(202));
    expect(trips).toBe(0);
    expect(await socket.next((m) => m.type === "driver.location")).toMatchObject({
      data: { lat: near.lat, lng: near.lng },
    });
    socket.socket.close();
  });
});

describe("dispatch from the index", () => {
  it("offers the ride to the driver nearest by his last ping, not by D1's older position", async () => {
    const pickup = spot();
    // Went online 1.5 km away, then drove to 100 m from the pickup; D1 has not heard yet.
    const pinged = await onlineDriver("pop", north(pickup, 1500));
    expect((await ping(pinged, north(pickup, 100))).status).toBe(202);
    const waiting = await onlineDriver("pop", north(pickup, 600));
    // A driver of another category, nearer still, is not searched.
    await onlineDriver("comfort", north(pickup, 20));

    const { rideId } = await requestAt(pickup);
    const offers = await firstBatch(rideId);
    expect(offers.map((o) => [o.driver_id, o.distance_m])).toEqual([
      [pinged.id, 100],
      [waiting.id, 600],
    ]);
  });

  it("never offers a busy driver, and offers him again once his ride is cancelled", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 100));
    const first = await requestAt(pickup);
    expect((await firstBatch(first.rideId)).map((o) => o.driver_id)).toEqual([driver.id]);
    expect((await postRide(driver.accessToken, first.rideId, "accept")).status).toBe(200);
    // The index knows he is busy: the position he pings does not make him a candidate.
    expect((await ping(driver, north(pickup, 50))).status).toBe(202);
    const other = await onlineDriver("pop", north(pickup, 900));

    const second = await requestAt(pickup);
    expect((await firstBatch(second.rideId)).map((o) => o.driver_id)).toEqual([other.id]);

    // The passenger cancels: the room tells the index he is free, and the next ride reaches him.
    const cancelled = await postRide(first.passenger.accessToken, first.rideId, "cancel", {
      reason: "changed plans",
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const third = await requestAt(north(pickup, 10));
    const offered = (await firstBatch(third.rideId)).map((o) => o.driver_id);
    expect(offered).toContain(driver.id);
  });

  it("refuses an accept D1 would refuse, even while the index still holds the driver online", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 100));
    const { rideId } = await requestAt(pickup);
    await firstBatch(rideId);
    // Offline in D1 by a path that did not tell his index (a suspension taking effect).
    await env.DB.prepare("UPDATE drivers SET status = 'offline' WHERE user_id = ?").bind(driver.id).run();
    expectProblem(await postRide(driver.accessToken, rideId, "accept"), 409, "driver_offline");
    expect(await rideRow(rideId)).toMatchObject({ status: "requested", driver_id: null });
  });

  it("shows GET /v1/rides/available around the driver's last ping", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 20_000));
    await requestAt(pickup);
    const far = await call("GET", "/v1/rides/available", { token: driver.accessToken });
    expect(far.status, far.text).toBe(200);
    expect(far.json.items).toEqual([]);

    expect((await ping(driver, north(pickup, 300))).status).toBe(202);
    const near = await call("GET", "/v1/rides/available", { token: driver.accessToken });
    expect(near.status, near.text).toBe(200);
    expect(near.json.items.map((r: { distance_to_pickup_m: number }) => r.distance_to_pickup_m)).toEqual([
      300,
    ]);
  });
});

describe("an index that lost its storage", () => {
  it("rebuilds itself from D1's snapshot, and the next ping refreshes the driver", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 300));
    await runInDurableObject(indexOf(pickup), async (_instance, state) => {
      await state.storage.deleteAll();
    });

    // A ride request still finds him, from the online drivers D1 saw recently in the area.
    const { rideId } = await requestAt(pickup);
    expect((await firstBatch(rideId)).map((o) => [o.driver_id, o.distance_m])).toEqual([[driver.id, 300]]);

    // Lost again, and D1's position is too old to rebuild from: his next ping is looked up in D1
    // once, he is held again, and that position is stored at once.
    await env.DB.prepare("UPDATE drivers SET last_seen_at = ? WHERE user_id = ?")
      .bind(new Date(Date.now() - 3_600_000).toISOString(), driver.id)
      .run();
    await runInDurableObject(indexOf(pickup), async (_instance, state) => {
      await state.storage.deleteAll();
    });
    const moved = north(pickup, 150);
    expect((await ping(driver, moved)).status).toBe(202);
    expect(await storedPosition(driver.id)).toMatchObject({ last_lat: moved.lat, last_lng: moved.lng });
    // The pings after it are the index's again: D1 hears of them in the snapshot.
    const closer = north(pickup, 60);
    expect((await ping(driver, closer)).status).toBe(202);
    expect(await storedPosition(driver.id)).toMatchObject({ last_lat: moved.lat });
    await runDurableObjectAlarm(indexOf(pickup));
    expect(await storedPosition(driver.id)).toMatchObject({ last_lat: closer.lat, last_lng: closer.lng });
    const accepted = await postRide(driver.accessToken, rideId, "accept");
    expect(accepted.status, accepted.text).toBe(200);
  });

  it("does not take back a driver D1 says is offline", async () => {
    const here = spot();
    const driver = await onlineDriver("pop", here);
    await env.DB.prepare("UPDATE drivers SET status = 'offline' WHERE user_id = ?").bind(driver.id).run();
    await runInDurableObject(indexOf(here), async (_instance, state) => {
      await state.storage.deleteAll();
    });
    expectProblem(await ping(driver, north(here, 10)), 409, "driver_offline");
  });
});
