import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { installRoundTripCounting, observeRoundTrips, RoundTripCounter } from "../../src/lib/d1-round-trips";
import { dispatchStep, INITIAL_DISPATCH } from "../../src/services/dispatch";
import { nearbyFreeAt } from "../../src/services/dispatch/candidates";
import { areaOf } from "../../src/services/drivers/index-port";
import type { RideRow } from "../../src/services/rides/state";
import { north, type Point, RequestedRides, spotsInOrder } from "../dispatch-helpers";
import { onlineDriver, postRide } from "../ride-helpers";

// The driver indexes leave out of their searches the drivers who hold an open offer (a hint the
// ride's room and the decline route give them); D1 stays the guard. These tests read the
// searches themselves, and what a ride requested meanwhile asks D1.

/** Each test works around its own pickup, more than 16 km from the others', in São Paulo's area. */
const SPOTS: Point[] = [
  { lat: -23.47, lng: -46.68 },
  { lat: -23.62, lng: -46.49 },
  { lat: -23.77, lng: -46.68 },
  { lat: -23.62, lng: -46.8 },
];
const spot = spotsInOrder(SPOTS);

const rides = new RequestedRides();
afterEach(() => rides.cleanUp());
const requestAt = (pickup: Point) => rides.request(pickup);

async function offeredTo(rideId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT driver_id FROM ride_offers WHERE ride_id = ? AND status = 'open' ORDER BY distance_m",
  )
    .bind(rideId)
    .all<{ driver_id: string }>();
  return results.map((r) => r.driver_id);
}

/** Whom a search around the pickup finds now, as dispatch asks it. */
async function searched(pickup: Point): Promise<string[]> {
  return (await nearbyFreeAt(createServiceContext(env), pickup, "pop")).map((d) => d.driverId);
}

/** The room tells the index in the background: wait (briefly) until the search says `expected`. */
async function searchSays(pickup: Point, expected: string[]): Promise<void> {
  let last: string[] = [];
  for (let i = 0; i < 50; i++) {
    last = await searched(pickup);
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(last).toEqual(expected);
}

const indexOf = (point: Point) => env.DRIVER_INDEX.get(env.DRIVER_INDEX.idFromName(areaOf(point)));
const roomOf = (rideId: string) => env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId));

describe("the driver indexes' offer hint", { timeout: 30_000 }, () => {
  it("leaves drivers holding an open offer out of searches, and finds them again once declined or withdrawn", async () => {
    const pickup = spot();
    const near = await onlineDriver("pop", north(pickup, 100));
    const far = await onlineDriver("pop", north(pickup, 200));
    expect(await searched(pickup)).toEqual([near.id, far.id]);

    const { passenger, rideId } = await requestAt(pickup);
    expect(await offeredTo(rideId)).toEqual([near.id, far.id]);
    await searchSays(pickup, []);

    // The decline route tells the index before it answers.
    const declined = await postRide(near.accessToken, rideId, "decline");
    expect(declined.status, declined.text).toBe(200);
    expect(await searched(pickup)).toEqual([near.id]);

    // Cancelling the ride withdraws the other offer: the room tells the index.
    const cancelled = await postRide(passenger.accessToken, rideId, "cancel", { reason: "changed plans" });
    expect(cancelled.status, cancelled.text).toBe(200);
    await searchSays(pickup, [near.id, far.id]);

    // And the next ride is offered to both.
    const next = await requestAt(pickup);
    expect(await offeredTo(next.rideId)).toEqual([near.id, far.id]);
  });

  it("finds the other drivers again when one accepts, and a driver again when his window ends", async () => {
    const pickup = spot();
    const [a, b] = [
      await onlineDriver("pop", north(pickup, 100)),
      await onlineDriver("pop", north(pickup, 200)),
    ];
    const { rideId } = await requestAt(pickup);
    await searchSays(pickup, []);
    const accepted = await postRide(a.accessToken, rideId, "accept");
    expect(accepted.status, accepted.text).toBe(200);
    // b's offer was withdrawn; a has the ride, so he stays out.
    await searchSays(pickup, [b.id]);

    const second = await requestAt(pickup);
    expect(await offeredTo(second.rideId)).toEqual([b.id]);
    await searchSays(pickup, []);
    // As if the window had passed, in D1 and in the index's clock: b is searched again.
    await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), second.rideId)
      .run();
    await runInDurableObject(indexOf(pickup), (_instance, state) => {
      state.storage.sql.exec("UPDATE drivers SET offer_until = ? WHERE offer_until > 0", Date.now() - 1000);
    });
    expect(await searched(pickup)).toEqual([b.id]);
    const third = await requestAt(pickup);
    expect(await offeredTo(third.rideId)).toEqual([b.id]);
  });

  it("spares D1 the offer statements when every driver near the pickup holds an offer", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 300));
    const first = await requestAt(pickup);
    expect(await offeredTo(first.rideId)).toEqual([driver.id]);
    await searchSays(pickup, []);

    const { rideId } = await requestAt(pickup);
    expect(await offeredTo(rideId)).toEqual([]);
    const row = (await runInDurableObject(roomOf(rideId), (_instance, state) =>
      JSON.parse(state.storage.sql.exec<{ row: string }>("SELECT row FROM ride").one().row),
    )) as RideRow;
    installRoundTripCounting(env.DB);
    const counter = new RoundTripCounter([]);
    const stop = observeRoundTrips(counter);
    try {
      const outcome = await dispatchStep(createServiceContext(env), row, INITIAL_DISPATCH);
      expect(outcome).toMatchObject({ kind: "next", notices: [] });
    } finally {
      stop();
    }
    // The step's sweep (its lapsed offers, its open ones) and nothing about the busy driver.
    expect(counter.figures(), JSON.stringify(counter.trace)).toMatchObject({ total: 1, statements: 2 });
  });

  it("adds the hint's columns to an index stored before them", async () => {
    const pickup = spot();
    const driver = await onlineDriver("pop", north(pickup, 100));
    const columns = await runInDurableObject(indexOf(pickup), async (instance, state) => {
      const sql = state.storage.sql;
      sql.exec("ALTER TABLE drivers DROP COLUMN offer_ride_id");
      sql.exec("ALTER TABLE drivers DROP COLUMN offer_until");
      // A new instance of the object on that storage, as after a deploy.
      const Index = instance.constructor as new (state: DurableObjectState, env: Env) => unknown;
      new Index(state, env);
      return sql
        .exec<{ name: string }>("PRAGMA table_info(drivers)")
        .toArray()
        .map((c) => c.name);
    });
    expect(columns).toEqual(expect.arrayContaining(["offer_ride_id", "offer_until"]));
    expect(await searched(pickup)).toEqual([driver.id]);
  });
});
