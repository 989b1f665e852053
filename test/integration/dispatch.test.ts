import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { installRoundTripCounting, observeRoundTrips, RoundTripCounter } from "../../src/lib/d1-round-trips";
import { newId } from "../../src/lib/ids";
import { dispatchStep, INITIAL_DISPATCH } from "../../src/services/dispatch";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import type { RideRow } from "../../src/services/rides/state";
import { north, type Point, RequestedRides, spotsInOrder } from "../dispatch-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import {
  bearer,
  expectRideConsistent,
  onlineDriver,
  openSocket,
  postRide,
  rideRow,
  type TestSocket,
} from "../ride-helpers";

// wrangler.toml: DISPATCH_BATCH_SIZE 5, OFFER_TTL_SECONDS 15, DISPATCH_RADIUS_STEPS_M 2000,4000,8000.
const BATCH_SIZE = 5;
const OFFER_TTL_MS = 15_000;

/**
 * Each test works around its own pickup, far (> 16 km) from the others', and every test ends
 * with its rides cancelled and its drivers offline: a ride of one test never reaches another's
 * drivers.
 */
const SPOTS: Point[] = [-23.4, -23.55, -23.7, -23.85].flatMap((lat) =>
  [-46.78, -46.58, -46.4].map((lng) => ({ lat, lng })),
);
const spot = spotsInOrder(SPOTS);

const rides = new RequestedRides();
afterEach(() => rides.cleanUp());
const requestAt = (pickup: Point, passenger?: TestUser) => rides.request(pickup, passenger);

type OfferRow = { driver_id: string; batch: number; radius_m: number; distance_m: number; status: string };

async function offersOf(rideId: string): Promise<OfferRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT driver_id, batch, radius_m, distance_m, status FROM ride_offers WHERE ride_id = ? ORDER BY batch, distance_m, driver_id",
  )
    .bind(rideId)
    .all<OfferRow>();
  return results;
}

/** Waits until the ride has offers in `batch` (the room's alarm sends them in the background). */
async function batchOf(rideId: string, batch: number): Promise<OfferRow[]> {
  for (let i = 0; i < 100; i++) {
    const rows = (await offersOf(rideId)).filter((o) => o.batch === batch);
    if (rows.length > 0) return rows;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`ride ${rideId} has no batch ${batch}: ${JSON.stringify(await offersOf(rideId))}`);
}

const roomOf = (rideId: string) => env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId));

/** As if the offer window had passed: the offers' end and the room's next step are now. */
async function windowPasses(rideId: string) {
  const past = new Date(Date.now() - 1000).toISOString();
  await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ? AND status = 'open'")
    .bind(past, rideId)
    .run();
  const room = roomOf(rideId);
  await runInDurableObject(room, (_instance, state) => {
    state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE kind = 'dispatch'");
  });
  await runDurableObjectAlarm(room);
}

const channelOf = (user: TestUser) => openSocket("/v1/ws", bearer(user.accessToken));

/** Everything the socket got so far, once a fresh ping's pong proves earlier frames arrived. */
async function settle(socket: TestSocket): Promise<any[]> {
  const pongs = socket.messages.filter((m) => m === "pong").length;
  socket.socket.send("ping");
  await socket.next(() => socket.messages.filter((m) => m === "pong").length > pongs);
  return socket.messages.filter((m) => m !== "pong");
}

/** Online drivers at the given distances north of the pickup, in that order. */
async function driversAt<const D extends readonly number[]>(
  pickup: Point,
  distances: D,
  category = "pop",
): Promise<{ [K in keyof D]: TestUser }> {
  const list: TestUser[] = [];
  for (const d of distances) list.push(await onlineDriver(category, north(pickup, d)));
  return list as { [K in keyof D]: TestUser };
}

/** The i-th element, which the test knows is there. */
function nth<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no element ${i}`);
  return item;
}

describe("dispatch in batches", { timeout: 30_000 }, () => {
  it("offers the nearest drivers first, a batch at a time, and the next batch when the window passes", async () => {
    const pickup = spot();
    const drivers = await driversAt(pickup, [700, 100, 600, 300, 200, 500, 400]);
    const byDistance = [1, 4, 3, 6, 5, 2, 0].map((i) => nth(drivers, i));
    const [nearestSocket, sixthSocket] = [
      await channelOf(nth(byDistance, 0)),
      await channelOf(nth(byDistance, 5)),
    ];

    const { rideId } = await requestAt(pickup);
    const first = await batchOf(rideId, 1);
    expect(first.map((o) => o.driver_id)).toEqual(byDistance.slice(0, BATCH_SIZE).map((d) => d.id));
    expect(first.every((o) => o.status === "open" && o.radius_m === 2000)).toBe(true);
    expect(first[0]?.distance_m).toBeGreaterThan(80);
    expect(first[0]?.distance_m).toBeLessThan(120);

    const offered = await nearestSocket.next((m) => m.type === "ride.offered" && m.ride_id === rideId);
    expect(offered.data).toMatchObject({ id: rideId, category: "pop", batch: 1, payment_method: "pix" });
    expect(offered.data).not.toHaveProperty("passenger_id");
    // Only the pickup's area: three decimals.
    expect(offered.data.pickup.lat).toBe(Number(pickup.lat.toFixed(3)));
    expect(Date.parse(offered.data.expires_at) - Date.parse(offered.data.offered_at)).toBe(OFFER_TTL_MS);
    expect((await settle(sixthSocket)).filter((m) => m.ride_id === rideId)).toEqual([]);

    // The driver sees it in his list too.
    const list = await call("GET", "/v1/drivers/me/offers", { token: nth(byDistance, 0).accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.json.items).toHaveLength(1);
    expect(list.json.items[0]).toMatchObject({ id: rideId, distance_to_pickup_m: first[0]?.distance_m });
    expect(list.json.items[0]).not.toHaveProperty("passenger_id");

    // A second run of the alarm before the window ends sends nothing more.
    await runDurableObjectAlarm(roomOf(rideId));
    expect(await offersOf(rideId)).toHaveLength(BATCH_SIZE);

    await windowPasses(rideId);
    const second = await batchOf(rideId, 2);
    expect(second.map((o) => o.driver_id)).toEqual(byDistance.slice(5).map((d) => d.id));
    const all = await offersOf(rideId);
    expect(all.filter((o) => o.batch === 1).every((o) => o.status === "expired")).toBe(true);
    expect(new Set(all.map((o) => o.driver_id)).size).toBe(all.length);
    await sixthSocket.next((m) => m.type === "ride.offered" && m.ride_id === rideId);
    expect(
      await nearestSocket.next((m) => m.type === "ride.offer_withdrawn" && m.ride_id === rideId),
    ).toMatchObject({ data: { id: rideId, reason: "expired" } });
    expect(
      (await call("GET", "/v1/drivers/me/offers", { token: nth(byDistance, 0).accessToken })).json.items,
    ).toEqual([]);
  });

  it("sends the next batch at once when the whole batch declined, and never offers a decliner again", async () => {
    const pickup = spot();
    const drivers = await driversAt(pickup, [100, 200, 300, 400, 500, 600]);
    const last = drivers[5] as TestUser;
    const lastSocket = await channelOf(last);
    const { passenger, rideId } = await requestAt(pickup);
    const first = await batchOf(rideId, 1);
    expect(first).toHaveLength(BATCH_SIZE);

    // Not offered to him (yet): 404. A passenger is not a driver: 403.
    expectProblem(await postRide(last.accessToken, rideId, "decline"), 404, "not_found");
    expectProblem(await postRide(passenger.accessToken, rideId, "decline"), 403, "forbidden");

    for (const driver of drivers.slice(0, BATCH_SIZE)) {
      const reply = await postRide(driver.accessToken, rideId, "decline");
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toMatchObject({ ride_id: rideId, status: "declined", batch: 1 });
    }
    // No window had to pass.
    await lastSocket.next((m) => m.type === "ride.offered" && m.ride_id === rideId);
    expect((await batchOf(rideId, 2)).map((o) => o.driver_id)).toEqual([last.id]);
    // Declining twice, or after the window: 409 offer_not_open.
    expectProblem(await postRide(nth(drivers, 0).accessToken, rideId, "decline"), 409, "offer_not_open");
    const rows = await offersOf(rideId);
    expect(rows.filter((o) => o.batch === 1).map((o) => o.status)).toEqual(
      Array(BATCH_SIZE).fill("declined"),
    );
    expect(rows).toHaveLength(BATCH_SIZE + 1);
  });

  it("widens the radius when nobody new is near, and expires the ride with a reason when nobody is left", async () => {
    const pickup = spot();
    const [atThree, atSix] = await driversAt(pickup, [3000, 6000]);
    const { passenger, rideId } = await requestAt(pickup);
    const passengerSocket = await channelOf(passenger);

    // Nobody within 2 km: the first batch goes out at 4 km, to the driver 3 km away only.
    expect(await batchOf(rideId, 1)).toEqual([
      expect.objectContaining({ driver_id: atThree.id, radius_m: 4000, status: "open" }),
    ]);
    expect((await postRide(atThree.accessToken, rideId, "decline")).status).toBe(200);
    expect(await batchOf(rideId, 2)).toEqual([
      expect.objectContaining({ driver_id: atSix.id, radius_m: 8000 }),
    ]);

    // Nobody is left: the ride waits one more window (drivers come online), then expires.
    await windowPasses(rideId);
    expect((await rideRow(rideId))?.status).toBe("requested");
    await windowPasses(rideId);
    const row = await rideRow(rideId);
    expect(row).toMatchObject({ status: "expired", expired_reason: "no_driver_available" });
    const expired = await passengerSocket.next((m) => m.type === "ride.expired" && m.ride_id === rideId);
    expect(expired.data).toMatchObject({ status: "expired", expired_reason: "no_driver_available" });
    await expectRideConsistent(rideId);
    // Expiry by its own deadline still says so.
    const again = await call("GET", `/v1/rides/${rideId}`, { token: passenger.accessToken });
    expect(again.json.expired_reason).toBe("no_driver_available");
  });

  it("never offers a blocked, busy, offline, wrong-category, under-floor driver or one holding another offer", async () => {
    const pickup = spot();
    const near = (m: number) => north(pickup, m);
    // Holding an open offer of another ride.
    const holder = await onlineDriver("pop", near(100));
    const { rideId: held } = await requestAt(pickup);
    expect((await batchOf(held, 1)).map((o) => o.driver_id)).toEqual([holder.id]);
    // However long the rest of this setup takes, his offer stays open.
    await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ?")
      .bind(new Date(Date.now() + 600_000).toISOString(), held)
      .run();
    // Busy: took a ride (he was offered it; the holder could not be).
    const busy = await onlineDriver("pop", near(120));
    const { rideId: busyRide } = await requestAt(pickup);
    expect((await batchOf(busyRide, 1)).map((o) => o.driver_id)).toEqual([busy.id]);
    expect((await postRide(busy.accessToken, busyRide, "accept")).status).toBe(200);
    // Blocked: blocking sets him offline; even if a row said online, the account status keeps him out.
    const blocked = await onlineDriver("pop", near(140));
    const admin = await createStaff("admin");
    expect(
      (await call("POST", `/v1/admin/users/${blocked.id}/block`, { token: admin.accessToken })).status,
    ).toBe(200);
    await env.DB.prepare("UPDATE drivers SET status = 'online' WHERE user_id = ?").bind(blocked.id).run();
    const offline = await onlineDriver("pop", near(160));
    expect((await call("POST", "/v1/drivers/me/offline", { token: offline.accessToken })).status).toBe(200);
    const comfort = await onlineDriver("comfort", near(180));
    const broke = await onlineDriver("pop", near(200));
    await setCredit(broke.id, -2001); // the seeded floor is −2000
    const eligible = await onlineDriver("pop", near(900));

    const { rideId } = await requestAt(pickup);
    expect((await batchOf(rideId, 1)).map((o) => o.driver_id)).toEqual([eligible.id]);
    const everyone = [holder, busy, blocked, offline, comfort, broke].map((d) => d.id);
    expect((await offersOf(rideId)).filter((o) => everyone.includes(o.driver_id))).toEqual([]);
  });

  it("withdraws the other offers when one driver accepts, on their sockets and in their rows", async () => {
    const pickup = spot();
    const drivers = await driversAt(pickup, [100, 200, 300]);
    const sockets = [await channelOf(nth(drivers, 1)), await channelOf(nth(drivers, 2))];
    const { rideId } = await requestAt(pickup);
    expect(await batchOf(rideId, 1)).toHaveLength(3);

    const accepted = await postRide(nth(drivers, 0).accessToken, rideId, "accept");
    expect(accepted.status, accepted.text).toBe(200);
    for (const socket of sockets) {
      expect(
        await socket.next((m) => m.type === "ride.offer_withdrawn" && m.ride_id === rideId),
      ).toMatchObject({ data: { id: rideId, reason: "accepted_by_another" } });
    }
    const rows = await offersOf(rideId);
    expect(rows.map((o) => [o.driver_id, o.status])).toEqual([
      [nth(drivers, 0).id, "accepted"],
      [nth(drivers, 1).id, "withdrawn"],
      [nth(drivers, 2).id, "withdrawn"],
    ]);
    // A withdrawn offer cannot be declined, and the list is empty.
    expectProblem(await postRide(nth(drivers, 1).accessToken, rideId, "decline"), 409, "offer_not_open");
    expect(
      (await call("GET", "/v1/drivers/me/offers", { token: nth(drivers, 1).accessToken })).json.items,
    ).toEqual([]);
  });

  it("withdraws open offers when the passenger cancels the requested ride", async () => {
    const pickup = spot();
    const [driver] = await driversAt(pickup, [100]);
    const socket = await channelOf(driver);
    const { passenger, rideId } = await requestAt(pickup);
    await batchOf(rideId, 1);
    expect((await postRide(passenger.accessToken, rideId, "cancel", { reason: "found a taxi" })).status).toBe(
      200,
    );
    expect(await socket.next((m) => m.type === "ride.offer_withdrawn" && m.ride_id === rideId)).toMatchObject(
      {
        data: { reason: "ride_closed" },
      },
    );
    expect((await offersOf(rideId)).map((o) => o.status)).toEqual(["withdrawn"]);
  });
});

describe("a driver giving back a ride he accepted", { timeout: 30_000 }, () => {
  it("puts it back to requested, tells the passenger, and offers it to others but never to him", async () => {
    const pickup = spot();
    const [first, second] = await driversAt(pickup, [100, 200]);
    const secondSocket = await channelOf(second);
    const { passenger, rideId } = await requestAt(pickup);
    const passengerSocket = await openSocket(`/v1/rides/${rideId}/ws`, bearer(passenger.accessToken));
    await batchOf(rideId, 1);
    expect((await postRide(first.accessToken, rideId, "accept")).status).toBe(200);
    expect((await postRide(first.accessToken, rideId, "arrive")).status).toBe(200);
    const expiresBefore = String((await rideRow(rideId))?.expires_at);

    const reply = await postRide(first.accessToken, rideId, "cancel", { reason: "flat tyre" });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "requested",
      driver_id: null,
      accepted_at: null,
      arrived_at: null,
    });
    const row = await rideRow(rideId);
    expect(row).toMatchObject({ status: "requested", driver_id: null, cancelled_by: null, last_seq: 4 });
    expect(Date.parse(String(row?.expires_at))).toBeGreaterThanOrEqual(Date.parse(expiresBefore));
    const { events } = await expectRideConsistent(rideId);
    expect(events.map((e) => [e.type, e.actor_id])).toEqual([
      ["ride.created", passenger.id],
      ["ride.accepted", first.id],
      ["ride.arrived", first.id],
      ["ride.reassigning", first.id],
    ]);
    expect(await passengerSocket.next((m) => m.type === "ride.reassigning")).toMatchObject({
      seq: 4,
      data: { status: "requested", driver_id: null },
    });

    // Dispatch starts again at once: the second driver (withdrawn at the accept) was offered it
    // already, so only a driver who never had it is offered it now.
    const third = await onlineDriver("pop", north(pickup, 300));
    const thirdSocket = await channelOf(third);
    await runInDurableObject(roomOf(rideId), (_instance, state) => {
      state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE kind = 'dispatch'");
    });
    await runDurableObjectAlarm(roomOf(rideId));
    await thirdSocket.next((m) => m.type === "ride.offered" && m.ride_id === rideId);
    const rows = await offersOf(rideId);
    expect(rows.filter((o) => o.driver_id === first.id)).toEqual([
      expect.objectContaining({ status: "accepted" }),
    ]);
    expect(rows.filter((o) => o.status === "open").map((o) => o.driver_id)).toEqual([third.id]);
    // The second driver heard of it once, in the first batch.
    expect((await settle(secondSocket)).filter((m) => m.type === "ride.offered")).toHaveLength(1);

    // He cannot act on it any more; another driver can take it.
    expectProblem(await postRide(first.accessToken, rideId, "arrive"), 403, "forbidden");
    const taken = await postRide(third.accessToken, rideId, "accept");
    expect(taken.status, taken.text).toBe(200);
    expect((await rideRow(rideId))?.driver_id).toBe(third.id);
    await expectRideConsistent(rideId);
  });
});

describe("a dispatch step's D1 round trips", () => {
  /** The ride as its room holds it, and the D1 round trips of one step run on it, alone. */
  async function stepAlone(rideId: string) {
    const row = (await runInDurableObject(roomOf(rideId), (_instance, state) =>
      JSON.parse(state.storage.sql.exec<{ row: string }>("SELECT row FROM ride").one().row),
    )) as RideRow;
    installRoundTripCounting(env.DB);
    // The room's own first step and what it published have finished by now.
    await new Promise((r) => setTimeout(r, 300));
    const counter = new RoundTripCounter([]);
    const stop = observeRoundTrips(counter);
    try {
      const outcome = await dispatchStep(createServiceContext(env), row, INITIAL_DISPATCH);
      return { outcome, trips: counter.figures(), trace: counter.trace };
    } finally {
      stop();
    }
  }

  it("records a new ride's first batch with the ride: the offers exist when the 201 comes back", async () => {
    const pickup = spot();
    const [near, far] = await driversAt(pickup, [250, 1200]);
    const { rideId } = await requestAt(pickup);
    expect(await offersOf(rideId)).toEqual([
      expect.objectContaining({
        driver_id: near.id,
        batch: 1,
        radius_m: 2000,
        distance_m: 250,
        status: "open",
      }),
      expect.objectContaining({
        driver_id: far.id,
        batch: 1,
        radius_m: 2000,
        distance_m: 1200,
        status: "open",
      }),
    ]);
  });

  it("offers from the index answer the request brought, and asks the indexes itself without one", async () => {
    const pickup = spot();
    const { passenger, rideId } = await requestAt(pickup);
    const stored = await runInDurableObject(roomOf(rideId), (_instance, state) => {
      const text = state.storage.sql.exec<{ row: string }>("SELECT row FROM ride").one().row;
      return JSON.parse(text) as RideRow;
    });
    await postRide(passenger.accessToken, rideId, "cancel", { reason: "test over" });
    const [near] = await driversAt(pickup, [400]);

    // The route asks the indexes while D1 answers its reads; if that failed, the room asks them.
    const asked = { ...stored, id: newId("ride") };
    rides.track(passenger, asked.id);
    expect(await roomOf(asked.id).create(asked)).toMatchObject({ ok: true });
    expect(await offersOf(asked.id)).toEqual([
      expect.objectContaining({ driver_id: near.id, batch: 1, distance_m: 400, status: "open" }),
    ]);
    await postRide(passenger.accessToken, asked.id, "cancel", { reason: "test over" });

    // An answer the request brought is used as it is: here nobody, though the driver is near.
    const given = { ...stored, id: newId("ride") };
    rides.track(passenger, given.id);
    expect(await roomOf(given.id).create(given, undefined, [])).toMatchObject({ ok: true });
    expect(await offersOf(given.id)).toEqual([]);
  });

  it("lets a driver accept the moment the offer reaches him, before the passenger has the reply", async () => {
    const pickup = spot();
    const [driver] = await driversAt(pickup, [200]);
    const socket = await channelOf(driver);
    const passenger = await registerUser("passenger");
    // The offer is sent before the room stores the ride: the accept waits in the room's chain.
    const requested = call("POST", "/v1/rides", {
      token: passenger.accessToken,
      headers: { "idempotency-key": unique() },
      body: { pickup, dropoff: north(pickup, 3000), category: "pop", payment_method: "pix" },
    });
    const offer = await socket.next((m) => m.type === "ride.offered");
    const accepted = await postRide(driver.accessToken, offer.ride_id, "accept");
    const reply = await requested;
    rides.track(passenger, offer.ride_id);
    expect(reply.status, reply.text).toBe(201);
    expect(accepted.status, accepted.text).toBe(200);
    expect(await rideRow(offer.ride_id)).toMatchObject({ status: "accepted", driver_id: driver.id });
    expect(await offersOf(offer.ride_id)).toEqual([
      expect.objectContaining({ driver_id: driver.id, status: "accepted" }),
    ]);
    await expectRideConsistent(offer.ride_id);
  });

  it("offers a lone driver one of two rides requested at once, never both", async () => {
    const pickup = spot();
    const [lone] = await driversAt(pickup, [300]);
    const [a, b] = await Promise.all([requestAt(pickup), requestAt(north(pickup, 50))]);
    const offers = [...(await offersOf(a.rideId)), ...(await offersOf(b.rideId))];
    expect(offers).toEqual([expect.objectContaining({ driver_id: lone.id, status: "open", batch: 1 })]);
    const open = await env.DB.prepare(
      "SELECT count(*) AS n FROM ride_offers WHERE driver_id = ? AND status = 'open'",
    )
      .bind(lone.id)
      .first<{ n: number }>();
    expect(open?.n).toBe(1);
    expect((await rideRow(a.rideId))?.status).toBe("requested");
    expect((await rideRow(b.rideId))?.status).toBe("requested");
  });

  it("is one round trip, whether it offers nobody or a batch", async () => {
    const pickup = spot();
    const { rideId } = await requestAt(pickup);

    const alone = await stepAlone(rideId);
    expect(alone.outcome.kind).toBe("next");
    expect(alone.trips, JSON.stringify(alone.trace)).toMatchObject({ total: 1, sequential: 1 });

    const [near] = await driversAt(pickup, [300]);
    const offering = await stepAlone(rideId);
    expect(offering.outcome).toMatchObject({
      kind: "next",
      notices: [{ event: { type: "ride.offered", ride_id: rideId }, users: [near.id] }],
    });
    expect(offering.trips, JSON.stringify(offering.trace)).toMatchObject({ total: 1, sequential: 1 });
    expect(await offersOf(rideId)).toEqual([expect.objectContaining({ driver_id: near.id, status: "open" })]);
  });
});

async function setCredit(driverId: string, cents: number) {
  await post(createServiceContext(env), {
    idempotencyKey: `test:${unique()}`,
    kind: "test.credit_adjustment",
    reference: { type: "test", id: driverId },
    effectiveAt: new Date(),
    lines: [
      { account: driverAccount(driverId, "credit"), amount: -cents },
      { account: platformAccount("revenue"), amount: cents },
    ],
  });
}
