import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createStaff, PASSWORD, registerUser, type TestUser } from "../helpers";
import {
  bearer,
  onlineDriver,
  openSocket,
  postRide,
  requestedRide,
  rideWithDriver,
  type TestSocket,
} from "../ride-helpers";

const channelOf = (userId: string) => env.USER_CHANNEL.get(env.USER_CHANNEL.idFromName(userId));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ticketFor(user: TestUser): Promise<{ ticket: string; expires_at: string }> {
  const reply = await call("POST", "/v1/ws/ticket", { token: user.accessToken });
  expect(reply.status, reply.text).toBe(201);
  return reply.json;
}

/** The socket answers a "ping": it is open. */
async function expectOpen(socket: TestSocket): Promise<void> {
  const pongs = socket.messages.filter((m) => m === "pong").length;
  socket.socket.send("ping");
  await socket.next(() => socket.messages.filter((m) => m === "pong").length > pongs, 2000);
}

/** The socket closes with `code` within a second of `since`. */
async function expectClosedWithin(socket: TestSocket, code: number, since: number) {
  const closed = await Promise.race([
    socket.closed,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000)),
  ]);
  expect(closed, "the socket is still open after a second").not.toBeNull();
  expect(closed?.code).toBe(code);
  expect(Date.now() - since).toBeLessThan(1000);
  return closed;
}

/** A second session of the same account. */
async function signInAgain(user: TestUser): Promise<TestUser> {
  const reply = await call("POST", "/v1/auth/login", {
    body: { email: user.email, password: PASSWORD },
    headers: { "cf-connecting-ip": user.ip },
  });
  expect(reply.status, reply.text).toBe(200);
  return { ...user, accessToken: reply.json.access_token, refreshToken: reply.json.refresh_token };
}

describe("socket credentials", { timeout: 20_000 }, () => {
  it("POST /v1/ws/ticket answers a ticket good for 30 s", async () => {
    const passenger = await registerUser("passenger");
    const before = Date.now();
    const { ticket, expires_at } = await ticketFor(passenger);
    expect(ticket).not.toContain(passenger.accessToken);
    const ttl = Date.parse(expires_at) - before;
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(31_000);
  });

  it("a ticket opens the user channel once, and not twice", async () => {
    const passenger = await registerUser("passenger");
    const { ticket } = await ticketFor(passenger);
    const first = await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    await expectOpen(first);
    const second = await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    expect(await second.closed).toMatchObject({ code: 4401, reason: "invalid_token" });
    await expectOpen(first);
  });

  it("a ticket opens a ride socket once, and the socket gets the ride's events", async () => {
    const { passenger, ride } = await requestedRide();
    const { ticket } = await ticketFor(passenger);
    const socket = await openSocket(`/v1/rides/${ride.id}/ws?ticket=${encodeURIComponent(ticket)}`);
    const driver = await onlineDriver();
    expect((await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken })).status).toBe(
      200,
    );
    await socket.next((m) => m.type === "ride.accepted");
    const again = await openSocket(`/v1/rides/${ride.id}/ws?ticket=${encodeURIComponent(ticket)}`);
    expect((await again.closed).code).toBe(4401);
  });

  it("an expired ticket is refused", async () => {
    const passenger = await registerUser("passenger");
    const { ticket } = await ticketFor(passenger);
    // As if 30 s had passed: the channel holds the ticket's expiry.
    await runInDurableObject(channelOf(passenger.id), (_instance, state) => {
      state.storage.sql.exec("UPDATE tickets SET expires_at = ?", Date.now() - 1);
    });
    const socket = await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    expect((await socket.closed).code).toBe(4401);
  });

  it("a ticket of another user's name, or a forged one, is refused", async () => {
    const [alice, bob] = [await registerUser("passenger"), await registerUser("passenger")];
    const { ticket } = await ticketFor(alice);
    const forged = `${bob.id}.${ticket.slice(ticket.indexOf(".") + 1)}`;
    for (const bad of [forged, "garbage", `${alice.id}.`, "usr_x.y"]) {
      const socket = await openSocket(`/v1/ws?ticket=${encodeURIComponent(bad)}`);
      expect((await socket.closed).code, bad).toBe(4401);
    }
    // The real one still works: the refusals did not burn it.
    await expectOpen(await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`));
  });

  it("a ticket issued before logout does not open a socket after it", async () => {
    const passenger = await registerUser("passenger");
    const { ticket } = await ticketFor(passenger);
    const out = await call("POST", "/v1/auth/logout", {
      token: passenger.accessToken,
      body: { refresh_token: passenger.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    const socket = await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    expect((await socket.closed).code).toBe(4401);
  });

  it("refuses a valid access token in ?token= with 4401 and says what to use instead", async () => {
    const { passenger, ride } = await rideWithDriver();
    for (const path of ["/v1/ws", `/v1/rides/${ride.id}/ws`]) {
      const socket = await openSocket(`${path}?token=${passenger.accessToken}`);
      const closed = await socket.closed;
      expect(closed.code, path).toBe(4401);
      expect(closed.reason).toContain("Sec-WebSocket-Protocol");
      expect(closed.reason).toContain("ticket");
      expect(socket.messages).toEqual([]);
    }
  });

  it("accepts the access token in Sec-WebSocket-Protocol and answers the bearer subprotocol", async () => {
    const { passenger, ride } = await rideWithDriver();
    for (const path of ["/v1/ws", `/v1/rides/${ride.id}/ws`]) {
      const socket = await openSocket(path, bearer(passenger.accessToken));
      expect(socket.protocol).toBe("bearer");
      await expectOpen(socket);
    }
  });
});

/** The events a user's channel was handed for a ride, whether or not a socket was open. */
async function channelEvents(userId: string, rideId: string): Promise<string[]> {
  return runInDurableObject(channelOf(userId), (_instance, state) =>
    state.storage.sql
      .exec<{ type: string }>("SELECT type FROM events WHERE ride_id = ? ORDER BY seq", rideId)
      .toArray()
      .map((e) => e.type),
  );
}

describe("sessions end everywhere at once", { timeout: 20_000 }, () => {
  it("blocking a driver closes his ride socket and channel with 4403 within a second; no offer reaches him", async () => {
    // Away from the drivers other tests of this file left online, so that he is the nearest.
    const pickup = { lat: -23.45, lng: -46.75 };
    const trip = { pickup, dropoff: { lat: pickup.lat - 0.02, lng: pickup.lng } };
    const driver = await onlineDriver("pop", pickup);
    const channel = await openSocket("/v1/ws", bearer(driver.accessToken));
    await expectOpen(channel);
    // Before the block he is in dispatch: a new ride nearby is offered to him, and he takes it.
    const { ride } = await requestedRide(trip);
    await channel.next((m) => m.type === "ride.offered" && m.ride_id === ride.id);
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    const rideSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(driver.accessToken));
    await expectOpen(rideSocket);

    const admin = await createStaff("admin");
    const started = Date.now();
    const blocked = await call("POST", `/v1/admin/users/${driver.id}/block`, { token: admin.accessToken });
    expect(blocked.status, blocked.text).toBe(200);
    expect((await expectClosedWithin(rideSocket, 4403, started))?.reason).toBe("user_blocked");
    await expectClosedWithin(channel, 4403, started);

    const row = await env.DB.prepare("SELECT status FROM drivers WHERE user_id = ?").bind(driver.id).first();
    expect(row?.status).toBe("offline");
    const { ride: after } = await requestedRide(trip);
    await sleep(300); // offers go out in the background of the request; give one time to arrive
    expect(await channelEvents(driver.id, after.id)).toEqual([]);
    const again = await openSocket("/v1/ws", bearer(driver.accessToken));
    expect((await again.closed).code).toBe(4403);
  });

  it("logout closes the sockets of that session with 4401, and leaves the user's other session open", async () => {
    const { passenger, ride } = await rideWithDriver();
    const other = await signInAgain(passenger);
    const rideSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    const { ticket } = await ticketFor(passenger);
    const channel = await openSocket(`/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    const otherRideSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(other.accessToken));
    const otherChannel = await openSocket("/v1/ws", bearer(other.accessToken));
    for (const socket of [rideSocket, channel, otherRideSocket, otherChannel]) await expectOpen(socket);

    const started = Date.now();
    const out = await call("POST", "/v1/auth/logout", {
      token: passenger.accessToken,
      body: { refresh_token: passenger.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    expect((await expectClosedWithin(rideSocket, 4401, started))?.reason).toBe("session_ended");
    await expectClosedWithin(channel, 4401, started);
    await expectOpen(otherRideSocket);
    await expectOpen(otherChannel);
  });

  it("a reused refresh token closes every socket of the user with 4401", async () => {
    const { passenger, ride } = await rideWithDriver();
    const other = await signInAgain(passenger);
    const rotated = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: passenger.refreshToken },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const sockets = [
      await openSocket(`/v1/rides/${ride.id}/ws`, bearer(rotated.json.access_token)),
      await openSocket("/v1/ws", bearer(rotated.json.access_token)),
      await openSocket(`/v1/rides/${ride.id}/ws`, bearer(other.accessToken)),
      await openSocket("/v1/ws", bearer(other.accessToken)),
    ];
    for (const socket of sockets) await expectOpen(socket);

    const started = Date.now();
    const reused = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: passenger.refreshToken },
    });
    expect(reused.status, reused.text).toBe(401);
    expect(reused.json.code).toBe("refresh_token_reused");
    for (const socket of sockets) await expectClosedWithin(socket, 4401, started);
  });
});

describe("replaying a refresh token of a session that already ended", () => {
  it("is refused and closes nobody's sockets: an old token cannot be used to kick the owner", async () => {
    const { passenger, ride } = await rideWithDriver();
    const other = await signInAgain(passenger);
    const out = await call("POST", "/v1/auth/logout", {
      token: passenger.accessToken,
      body: { refresh_token: passenger.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    const sockets = [
      await openSocket(`/v1/rides/${ride.id}/ws`, bearer(other.accessToken)),
      await openSocket("/v1/ws", bearer(other.accessToken)),
    ];
    for (const socket of sockets) await expectOpen(socket);

    for (let i = 0; i < 3; i++) {
      const replayed = await call("POST", "/v1/auth/refresh", {
        body: { refresh_token: passenger.refreshToken },
      });
      expect(replayed.status, replayed.text).toBe(401);
      expect(replayed.json.code).toBe("refresh_token_reused");
    }
    await sleep(300);
    for (const socket of sockets) await expectOpen(socket);
    // The other session is untouched: it still refreshes.
    const refreshed = await call("POST", "/v1/auth/refresh", { body: { refresh_token: other.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
  });
});

describe("socket frames", { timeout: 20_000 }, () => {
  it("closes a ride socket that sends more than 10 frames a second with 4429, and the ride goes on", async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const flooder = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(driver.accessToken));
    const frame = JSON.stringify({ action: "location", lat: -23.55, lng: -46.634 });
    for (let i = 0; i < 40; i += 1) flooder.socket.send(frame);
    expect(await flooder.closed).toMatchObject({ code: 4429, reason: "too many frames" });
    // Only that socket is closed: the passenger got the admitted position, and the driver's new
    // socket has its frames handled again (the error for a bad frame comes after the good one).
    const passengerSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    await passengerSocket.next((m) => m.type === "driver.location");
    const again = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(driver.accessToken));
    again.socket.send(frame);
    again.socket.send("not json");
    expect(await again.next((m) => m.type === "error")).toMatchObject({ code: "invalid_frame" });
  });

  it("closes a user channel that floods it with 4429", async () => {
    const passenger = await registerUser("passenger");
    const socket = await openSocket("/v1/ws", bearer(passenger.accessToken));
    for (let i = 0; i < 40; i += 1) socket.socket.send("hello");
    expect(await socket.closed).toMatchObject({ code: 4429, reason: "too many frames" });
  });
});
