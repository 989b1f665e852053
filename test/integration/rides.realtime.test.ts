import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser, type TestUser } from "../helpers";
import {
  bearer,
  completeAtDropoff,
  expectRideConsistent,
  onlineDriver,
  openSocket,
  postRide,
  requestedRide,
  rideEvents,
  rideRow,
  rideState,
  rideWithDriver,
  type TestSocket,
} from "../ride-helpers";

const WIRE_KEYS = ["at", "data", "id", "ride_id", "seq", "type"];
const LOCATION_BROADCAST_INTERVAL_MS = 2000; // wrangler.toml
const GRACE_SECONDS = 120; // wrangler.toml CANCELLATION_GRACE_SECONDS
const POP_CANCELLATION_FEE_CENTS = 500; // migrations/0002_seed_sao_paulo.sql

const rideSocket = (rideId: string, token: string, query = "") =>
  openSocket(`/v1/rides/${rideId}/ws${query}`, bearer(token));
const roomOf = (rideId: string) => env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId));

/**
 * Waits until everything the server sent before now has arrived: the "pong" to a fresh "ping"
 * is queued behind it. Returns the messages other than pongs.
 */
async function settle(socket: TestSocket): Promise<any[]> {
  const pongs = socket.messages.filter((m) => m === "pong").length;
  socket.socket.send("ping");
  await socket.next(() => socket.messages.filter((m) => m === "pong").length > pongs);
  return socket.messages.filter((m) => m !== "pong");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Rewrites fields of a ride in both places that hold it, as if time had passed: the D1 row and
 * the RideRoom's own copy (which is what the room decides from).
 */
async function rewriteRide(rideId: string, changes: { acceptedAt?: string; expiresAt?: string }) {
  const columns = { acceptedAt: "accepted_at", expiresAt: "expires_at" } as const;
  for (const [field, value] of Object.entries(changes) as [keyof typeof columns, string][]) {
    await env.DB.prepare(`UPDATE rides SET ${columns[field]} = ? WHERE id = ?`).bind(value, rideId).run();
    await runInDurableObject(roomOf(rideId), (_instance, state) => {
      state.storage.sql.exec(`UPDATE ride SET row = json_set(row, '$.${field}', ?) WHERE id = 1`, value);
    });
  }
}

describe("the ride socket", { timeout: 20_000 }, () => {
  it("streams accepted, arrived, started and completed to the passenger, in order, in the wire shape", async () => {
    const { passenger, ride } = await requestedRide();
    const socket = await rideSocket(ride.id, passenger.accessToken);
    const driver = await onlineDriver();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    for (const step of ["arrive", "start"])
      expect((await postRide(driver.accessToken, ride.id, step)).status).toBe(200);
    const completed = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
    expect(completed.status, completed.text).toBe(200);

    await socket.next((m) => m.type === "ride.completed");
    const received = await settle(socket);
    // A Pix ride's completion creates its charge: the QR follows, outside the ride's log (seq 0).
    expect(received.map((m) => [m.type, m.seq])).toEqual([
      ["ride.accepted", 2],
      ["ride.arrived", 3],
      ["ride.started", 4],
      // The driver's position at the dropoff, just before completing (positions carry seq 0).
      ["driver.location", 0],
      ["ride.completed", 5],
      ["payment.qr_generated", 0],
    ]);
    const events = received.filter((m) => m.type.startsWith("ride."));
    const statuses = ["accepted", "arrived", "in_progress", "completed"];
    events.forEach((m, i) => {
      expect(Object.keys(m).sort()).toEqual(WIRE_KEYS);
      expect(m).toMatchObject({ id: `evt_${ride.id}_${m.seq}`, ride_id: ride.id });
      expect(new Date(m.at).toISOString()).toBe(m.at);
      expect(m.data).toMatchObject({ id: ride.id, status: statuses[i], seq: m.seq, driver_id: driver.id });
    });
    expect(events[3].data).toEqual(completed.json);
    // The socket tells the same story as D1.
    expect((await rideEvents(ride.id)).slice(1).map((e) => [e.type, e.seq])).toEqual(
      events.map((m) => [m.type, m.seq]),
    );
  });

  it("replays exactly what came after ?since= on reconnect, and nothing without it", async () => {
    const { passenger, ride } = await rideWithDriver(["arrive", "start", "complete"]);

    const replay = await rideSocket(ride.id, passenger.accessToken, "?since=2");
    expect((await settle(replay)).map((m) => [m.type, m.seq])).toEqual([
      ["ride.arrived", 3],
      ["ride.started", 4],
      ["ride.completed", 5],
    ]);
    for (const m of replay.messages.filter((x) => x !== "pong"))
      expect(Object.keys(m).sort()).toEqual(WIRE_KEYS);

    expect((await settle(await rideSocket(ride.id, passenger.accessToken, "?since=5"))).length).toBe(0);
    expect((await settle(await rideSocket(ride.id, passenger.accessToken))).length).toBe(0);
    expect(
      (await settle(await rideSocket(ride.id, passenger.accessToken, "?since=1"))).map((m) => m.seq),
    ).toEqual([2, 3, 4, 5]);
  });

  it("lets the assigned driver listen too", async () => {
    const { driver, ride } = await rideWithDriver();
    const socket = await rideSocket(ride.id, driver.accessToken, "?since=1");
    await socket.next((m) => m.type === "ride.accepted");
    expect((await postRide(driver.accessToken, ride.id, "arrive")).status).toBe(200);
    const arrived = await socket.next((m) => m.type === "ride.arrived");
    expect(arrived).toMatchObject({ seq: 3, ride_id: ride.id, data: { status: "arrived" } });
  });

  it("accepts the token as Sec-WebSocket-Protocol: bearer, <token> and answers with the bearer protocol", async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const socket = await openSocket(`/v1/rides/${ride.id}/ws`, {
      "sec-websocket-protocol": `bearer, ${passenger.accessToken}`,
    });
    expect(socket.protocol).toBe("bearer");
    expect((await postRide(driver.accessToken, ride.id, "arrive")).status).toBe(200);
    expect(await socket.next((m) => m.type === "ride.arrived")).toMatchObject({ seq: 3 });
  });

  it('answers the text "ping" with "pong"', async () => {
    const { passenger, ride } = await requestedRide();
    const socket = await rideSocket(ride.id, passenger.accessToken);
    socket.socket.send("ping");
    expect(await socket.next((m) => m === "pong")).toBe("pong");
  });

  describe("refuses a socket by closing it with a 44xx code", () => {
    it("4403 for a user who is neither the passenger nor the assigned driver", async () => {
      const { ride } = await rideWithDriver();
      for (const stranger of [await registerUser("passenger"), await onlineDriver()]) {
        const socket = await rideSocket(ride.id, stranger.accessToken);
        expect((await socket.closed).code).toBe(4403);
        expect(socket.messages).toEqual([]);
      }
    });

    it("4403 for a driver on a ride still on offer (nobody is assigned yet)", async () => {
      const { ride } = await requestedRide();
      const driver = await onlineDriver();
      expect((await (await rideSocket(ride.id, driver.accessToken)).closed).code).toBe(4403);
    });

    it.each([
      ["a garbage ticket", "?ticket=not-a-ticket"],
      ["no token", ""],
    ])("4401 for %s", async (_case, query) => {
      const { ride } = await requestedRide();
      const socket = await openSocket(`/v1/rides/${ride.id}/ws${query}`);
      expect((await socket.closed).code).toBe(4401);
      expect(socket.messages).toEqual([]);
    });

    it("4401 for a bad token in Sec-WebSocket-Protocol", async () => {
      const { ride } = await requestedRide();
      const socket = await openSocket(`/v1/rides/${ride.id}/ws`, {
        "sec-websocket-protocol": "bearer, aaa.bbb.ccc",
      });
      expect((await socket.closed).code).toBe(4401);
    });

    it("4403 for the ride's own passenger once their account is blocked", async () => {
      const { passenger, ride } = await requestedRide();
      const admin = await createStaff("admin");
      const blocked = await call("POST", `/v1/admin/users/${passenger.id}/block`, {
        token: admin.accessToken,
      });
      expect(blocked.status, blocked.text).toBe(200);
      expect((await (await rideSocket(ride.id, passenger.accessToken)).closed).code).toBe(4403);
    });

    it("4404 for a ride that does not exist", async () => {
      const passenger = await registerUser("passenger");
      const socket = await rideSocket("ride_01NOSUCHRIDE000000000000000", passenger.accessToken);
      expect((await socket.closed).code).toBe(4404);
    });
  });

  it.each(["/v1/rides/ride_01NOSUCHRIDE000000000000000/ws", "/v1/ws"])(
    "answers a plain GET of %s (no Upgrade header) with 426 upgrade_required",
    async (path) => {
      const passenger = await registerUser("passenger");
      expectProblem(
        await call("GET", path, { headers: bearer(passenger.accessToken) }),
        426,
        "upgrade_required",
      );
    },
  );
});

describe("driver locations over the ride socket", { timeout: 20_000 }, () => {
  it("reaches the passenger at most once per broadcast interval", { timeout: 20_000 }, async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const passengerSocket = await rideSocket(ride.id, passenger.accessToken);
    const driverSocket = await rideSocket(ride.id, driver.accessToken);

    for (const [i, lng] of [-46.634, -46.635, -46.636].entries()) {
      driverSocket.socket.send(
        JSON.stringify({ action: "location", lat: -23.55, lng, heading: 90 + i, speed: 8 }),
      );
    }
    // The driver's frames are handled in order: the error for this one comes after all three.
    driverSocket.socket.send("not json");
    await driverSocket.next((m) => m.type === "error");

    const location = await passengerSocket.next((m) => m.type === "driver.location");
    expect(Object.keys(location).sort()).toEqual(WIRE_KEYS);
    expect(location).toMatchObject({
      ride_id: ride.id,
      seq: 0,
      data: { lat: -23.55, lng: -46.634, heading: 90, speed: 8 },
    });
    expect((await settle(passengerSocket)).filter((m) => m.type === "driver.location")).toHaveLength(1);
    // Locations go to the passenger only, not back to the driver.
    expect((await settle(driverSocket)).filter((m) => m.type === "driver.location")).toHaveLength(0);

    // Once the interval has passed, the next position goes out.
    await sleep(LOCATION_BROADCAST_INTERVAL_MS + 100);
    driverSocket.socket.send(JSON.stringify({ action: "location", lat: -23.551, lng: -46.64 }));
    await passengerSocket.next((m) => m.type === "driver.location" && m.data.lng === -46.64);
    expect((await settle(passengerSocket)).filter((m) => m.type === "driver.location")).toHaveLength(2);

    // A passenger who connects later is told the latest position at once.
    const late = await rideSocket(ride.id, passenger.accessToken);
    expect(await late.next((m) => m.type === "driver.location")).toMatchObject({
      data: { lat: -23.551, lng: -46.64 },
    });
  });

  it.each([
    ["text that is not JSON", "hello"],
    ["an unknown action", JSON.stringify({ action: "teleport", lat: 0, lng: 0 })],
    ["a latitude out of range", JSON.stringify({ action: "location", lat: 123, lng: -46.6 })],
    ["a location without lng", JSON.stringify({ action: "location", lat: -23.5 })],
  ])("answers %s with an invalid_frame error and keeps the socket open", async (_case, frame) => {
    const { passenger, driver, ride } = await rideWithDriver();
    const passengerSocket = await rideSocket(ride.id, passenger.accessToken);
    const socket = await rideSocket(ride.id, driver.accessToken);
    socket.socket.send(frame);
    expect(await socket.next((m) => m.type === "error")).toMatchObject({
      type: "error",
      code: "invalid_frame",
    });
    socket.socket.send("ping");
    await socket.next((m) => m === "pong");
    expect((await settle(passengerSocket)).filter((m) => m.type === "driver.location")).toHaveLength(0);
  });

  it("answers a passenger's location frame with a forbidden error and sends nothing on", async () => {
    const { passenger, ride } = await rideWithDriver();
    const socket = await rideSocket(ride.id, passenger.accessToken);
    socket.socket.send(JSON.stringify({ action: "location", lat: -23.55, lng: -46.63 }));
    expect(await socket.next((m) => m.type === "error")).toMatchObject({ code: "forbidden" });
    expect((await settle(socket)).filter((m) => m.type === "driver.location")).toHaveLength(0);
  });

  it("keeps the sockets' identities across hibernation (eviction of the room)", async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const passengerSocket = await rideSocket(ride.id, passenger.accessToken);
    const driverSocket = await rideSocket(ride.id, driver.accessToken);
    await evictDurableObject(roomOf(ride.id));

    driverSocket.socket.send(JSON.stringify({ action: "location", lat: -23.552, lng: -46.637 }));
    expect(await passengerSocket.next((m) => m.type === "driver.location")).toMatchObject({
      data: { lat: -23.552, lng: -46.637 },
    });
    passengerSocket.socket.send(JSON.stringify({ action: "location", lat: -23.552, lng: -46.637 }));
    expect(await passengerSocket.next((m) => m.type === "error")).toMatchObject({ code: "forbidden" });
  });
});

describe("the user channel, GET /v1/ws", { timeout: 20_000 }, () => {
  it("tells the passenger their ride was accepted, in the wire shape", async () => {
    const { passenger, ride } = await requestedRide();
    const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));
    const driver = await onlineDriver();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);

    const accepted = await channel.next((m) => m.type === "ride.accepted");
    expect(Object.keys(accepted).sort()).toEqual(WIRE_KEYS);
    expect(accepted).toMatchObject({
      ride_id: ride.id,
      id: `evt_${passenger.id}_${accepted.seq}`,
      data: { id: ride.id, status: "accepted", driver_id: driver.id },
    });
    expect(accepted.seq).toBeGreaterThan(0);

    // Reconnecting with ?since= catches up on the channel's own sequence.
    const again = await openSocket(`/v1/ws?since=${accepted.seq - 1}`, bearer(passenger.accessToken));
    expect(await again.next((m) => m.type === "ride.accepted")).toMatchObject({
      seq: accepted.seq,
      ride_id: ride.id,
    });
  });

  it("offers a new ride to an online driver of its category near the pickup, and not to others", async () => {
    // Away from the drivers other tests of this file left online at SE, so that this driver is
    // the nearest (offers go out in batches of the nearest few).
    const pickup = { lat: -23.45, lng: -46.75 };
    const near = await onlineDriver("pop", pickup);
    const comfort = await onlineDriver("comfort", pickup);
    const far = await onlineDriver("pop", { lat: -23.9, lng: -46.4 }); // Santos side of the city box
    const channel = (driver: TestUser) => openSocket("/v1/ws", bearer(driver.accessToken));
    const [nearSocket, comfortSocket, farSocket] = [
      await channel(near),
      await channel(comfort),
      await channel(far),
    ];

    const { ride } = await requestedRide({
      category: "pop",
      pickup,
      dropoff: { lat: pickup.lat - 0.02, lng: pickup.lng },
    });
    const offer = await nearSocket.next((m) => m.type === "ride.offered" && m.ride_id === ride.id);
    expect(Object.keys(offer).sort()).toEqual(WIRE_KEYS);
    expect(offer).toMatchObject({
      id: `evt_${near.id}_${offer.seq}`,
      data: { id: ride.id, category: "pop", payment_method: "pix" },
    });
    // An offer tells nearby drivers nothing about the passenger.
    expect(offer.data).not.toHaveProperty("passenger_id");

    await sleep(200); // offers go out together; give the others' a moment to (not) arrive
    for (const socket of [comfortSocket, farSocket]) {
      expect((await settle(socket)).filter((m) => m.ride_id === ride.id)).toEqual([]);
    }
  });

  it("refuses a bad token with close code 4401", async () => {
    const socket = await openSocket("/v1/ws", bearer("not-a-token"));
    expect((await socket.closed).code).toBe(4401);
  });

  it('answers "ping" with "pong" and any other frame with invalid_frame', async () => {
    const passenger = await registerUser("passenger");
    const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));
    channel.socket.send("ping");
    await channel.next((m) => m === "pong");
    channel.socket.send(JSON.stringify({ action: "location", lat: -23.55, lng: -46.63 }));
    expect(await channel.next((m) => m.type === "error")).toMatchObject({ code: "invalid_frame" });
  });
});

describe("expiry of a ride nobody accepted", { timeout: 20_000 }, () => {
  it("runs from the room's alarm once due, exactly once, and the ride can no longer be accepted", async () => {
    const { passenger, ride } = await requestedRide();
    const socket = await rideSocket(ride.id, passenger.accessToken);
    const room = roomOf(ride.id);
    const before = await rideState(ride.id);

    // The alarm is armed for the ride's expiry; firing early does nothing.
    expect(await runDurableObjectAlarm(room)).toBe(true);
    expect(await rideState(ride.id)).toEqual(before);

    await runInDurableObject(room, (_instance, state) => {
      state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE kind = 'expire'");
    });
    expect(await runDurableObjectAlarm(room)).toBe(true);

    const row = await rideRow(ride.id);
    expect(row).toMatchObject({ status: "expired", driver_id: null, last_seq: 2 });
    expect(typeof row?.expired_at).toBe("string");
    const { events } = await expectRideConsistent(ride.id);
    expect(events.map((e) => [e.type, e.actor_id])).toEqual([
      ["ride.created", passenger.id],
      ["ride.expired", null],
    ]);
    expect(await socket.next((m) => m.type === "ride.expired")).toMatchObject({
      seq: 2,
      data: { status: "expired" },
    });

    // Delivered again (alarms are at least once): nothing is left to do. The one timer left is
    // the day the room forgets the trip, months away; running the alarm early changes nothing.
    const expired = await rideState(ride.id);
    const timers = await runInDurableObject(room, (_instance, state) =>
      state.storage.sql.exec<{ kind: string }>("SELECT kind FROM timers").toArray(),
    );
    expect(timers).toEqual([{ kind: "forget_trip" }]);
    await runDurableObjectAlarm(room);
    expect(await rideState(ride.id)).toEqual(expired);

    const driver = await onlineDriver();
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "ride_not_requested");
    expect(await rideState(ride.id)).toEqual(expired);
    // The passenger is free to ask again.
    const again = await call("GET", `/v1/rides/${ride.id}`, { token: passenger.accessToken });
    expect(again.json).toMatchObject({ status: "expired" });
  });

  it("is applied first when a driver accepts after the expiry time but before the alarm ran", async () => {
    const { ride } = await requestedRide();
    await rewriteRide(ride.id, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const driver = await onlineDriver();

    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "ride_not_requested");

    const { row, events } = await expectRideConsistent(ride.id);
    expect(row).toMatchObject({ status: "expired", driver_id: null });
    expect(events.map((e) => e.type)).toEqual(["ride.created", "ride.expired"]);
  });
});

describe("a room whose ride no longer matches D1", { timeout: 20_000 }, () => {
  it("refuses an action on an overdue ride with 409 instead of retrying the expiry forever", async () => {
    const { ride } = await requestedRide();
    await rewriteRide(ride.id, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    // Someone changed the row behind the room's back: its guarded writes can no longer apply.
    await env.DB.prepare("UPDATE rides SET last_seq = 9 WHERE id = ?").bind(ride.id).run();
    const before = await rideState(ride.id);
    const driver = await onlineDriver();

    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "invalid_transition");
    expect(await rideState(ride.id)).toEqual(before);
  });
});

describe("cancellation fee", { timeout: 20_000 }, () => {
  it("is 0 when the passenger cancels right after a driver accepted", async () => {
    const { passenger, ride } = await rideWithDriver();
    const reply = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "found another ride" });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "cancelled",
      cancellation_fee_cents: 0,
      cancelled_by: "passenger",
    });
    expect(await rideRow(ride.id)).toMatchObject({
      status: "cancelled",
      cancellation_fee_cents: 0,
      cancelled_by: "passenger",
      cancel_reason: "found another ride",
    });
    await expectRideConsistent(ride.id);
  });

  it("is 0 when the passenger cancels a ride nobody accepted", async () => {
    const { passenger, ride } = await requestedRide();
    const reply = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "too long" });
    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: 0, driver_id: null });
    await expectRideConsistent(ride.id);
  });

  it("is the category's fee when the passenger cancels after the grace period, and is streamed", async () => {
    const { passenger, driver, ride } = await rideWithDriver(["arrive"]);
    await rewriteRide(ride.id, {
      acceptedAt: new Date(Date.now() - (GRACE_SECONDS + 60) * 1000).toISOString(),
    });
    const socket = await rideSocket(ride.id, driver.accessToken);

    const reply = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "driver is late" });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "cancelled",
      cancellation_fee_cents: POP_CANCELLATION_FEE_CENTS,
      cancelled_by: "passenger",
    });
    expect(await rideRow(ride.id)).toMatchObject({
      status: "cancelled",
      cancellation_fee_cents: POP_CANCELLATION_FEE_CENTS,
      cancelled_by: "passenger",
      driver_id: driver.id,
    });
    const { events } = await expectRideConsistent(ride.id);
    expect(events.at(-1)).toMatchObject({ type: "ride.cancelled", actor_id: passenger.id });
    expect(await socket.next((m) => m.type === "ride.cancelled")).toMatchObject({
      seq: 4,
      data: { cancellation_fee_cents: POP_CANCELLATION_FEE_CENTS, cancelled_by: "passenger" },
    });
  });

  it("is nothing when the driver gives the ride back after the grace period: it is requested again", async () => {
    const { driver, ride } = await rideWithDriver();
    await rewriteRide(ride.id, {
      acceptedAt: new Date(Date.now() - (GRACE_SECONDS + 60) * 1000).toISOString(),
    });
    const reply = await postRide(driver.accessToken, ride.id, "cancel", { reason: "flat tyre" });
    expect(reply.json).toMatchObject({
      status: "requested",
      driver_id: null,
      cancellation_fee_cents: null,
      cancelled_by: null,
    });
    expect(await rideRow(ride.id)).toMatchObject({
      status: "requested",
      cancellation_fee_cents: null,
      cancelled_by: null,
    });
  });
});
