import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { BASE, call, registerUser, type TestUser, unique } from "./helpers";
import { approveDriverInD1 } from "./onboarding-helpers";

/** Central São Paulo: Praça da Sé to Avenida Paulista. */
export const SE = { lat: -23.5503, lng: -46.6339 };
export const PAULISTA = { lat: -23.5614, lng: -46.6559 };

/** An approved driver with a vehicle of the category, online at the given point. */
export async function onlineDriver(category = "pop", at = SE): Promise<TestUser> {
  const driver = await registerUser("driver");
  await approveDriverInD1(driver.id);
  const vehicle = await call("PUT", "/v1/drivers/me/vehicle", {
    token: driver.accessToken,
    body: { plate: "ABC1D23", model: "Onix", color: "Prata", category },
  });
  expect(vehicle.status, vehicle.text).toBe(200);
  const online = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: at });
  expect(online.status, online.text).toBe(200);
  return driver;
}

export async function requestRide(
  passenger: TestUser,
  body: Record<string, unknown> = {},
  key: string = unique(),
) {
  return call("POST", "/v1/rides", {
    token: passenger.accessToken,
    headers: { "idempotency-key": key },
    body: { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix", ...body },
  });
}

/** A passenger with a requested ride. */
export async function requestedRide(body: Record<string, unknown> = {}) {
  const passenger = await registerUser("passenger");
  const reply = await requestRide(passenger, body);
  expect(reply.status, reply.text).toBe(201);
  return { passenger, ride: reply.json as { id: string; status: string; [k: string]: unknown } };
}

export interface TestSocket {
  socket: WebSocket;
  messages: any[];
  /** Resolves with the first message (from the start) that matches, waiting if needed. */
  next(predicate: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
  /** The subprotocol the server chose (Sec-WebSocket-Protocol of the 101), if any. */
  protocol: string | null;
}

/** The header that carries an access token on a socket upgrade (never `?token=`). */
export const bearer = (token: string) => ({ "sec-websocket-protocol": `bearer, ${token}` });

/** Opens a socket through the app's own fetch; `headers` adds e.g. Sec-WebSocket-Protocol. */
export async function openSocket(path: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const response = await exports.default.fetch(
    new Request(`${BASE}${path}`, { headers: { upgrade: "websocket", ...headers } }),
  );
  expect(response.status).toBe(101);
  const protocol = response.headers.get("sec-websocket-protocol");
  const socket = response.webSocket;
  if (!socket) throw new Error("no socket in the reply");
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  let resolveClosed: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => {
    resolveClosed = r;
  });
  socket.addEventListener("message", (event) => {
    const text =
      typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
    messages.push(text === "pong" ? text : JSON.parse(text));
    for (const wake of waiters.splice(0)) wake();
  });
  socket.addEventListener("close", (event) => resolveClosed({ code: event.code, reason: event.reason }));
  socket.accept();
  const next = (predicate: (m: any) => boolean, timeoutMs = 3000) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching message; got ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      const check = () => {
        const found = messages.find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  return { socket, messages, next, closed, protocol };
}

/** The ride's D1 row as stored (snake_case columns), or null. */
export async function rideRow(rideId: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM rides WHERE id = ?").bind(rideId).first();
}

/** The ride's D1 history, oldest first. */
export async function rideEvents(
  rideId: string,
): Promise<{ seq: number; type: string; actor_id: string | null }[]> {
  const { results } = await env.DB.prepare(
    "SELECT seq, type, actor_id FROM ride_events WHERE ride_id = ? ORDER BY seq",
  )
    .bind(rideId)
    .all<{ seq: number; type: string; actor_id: string | null }>();
  return results;
}

/** A snapshot of everything a refused request must leave alone: the row and its history. */
export async function rideState(rideId: string) {
  return { row: await rideRow(rideId), events: await rideEvents(rideId) };
}

export async function postRide(token: string, rideId: string, step: string, body?: unknown) {
  return call("POST", `/v1/rides/${rideId}/${step}`, { token, body });
}

/** The driver's app reports a position; during a ride it goes to the ride's room (its trip trace). */
export async function sendLocation(driver: TestUser, at: { lat: number; lng: number } = PAULISTA) {
  const reply = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: at });
  expect(reply.status, reply.text).toBe(202);
}

/**
 * The assigned driver, at the dropoff (PAULISTA, where `requestRide` goes), completes the trip:
 * `complete` is refused far from the dropoff. One position is too few to measure, so the fare is
 * the quote; `body` is what the driver's app reports (advisory, never priced).
 */
export async function completeAtDropoff(driver: TestUser, rideId: string, body?: unknown) {
  await sendLocation(driver, PAULISTA);
  return postRide(driver.accessToken, rideId, "complete", body);
}

/** A requested ride taken by a fresh online driver, then walked through `steps` (e.g. arrive, start). */
export async function rideWithDriver(steps: ("arrive" | "start" | "complete")[] = []) {
  const { passenger, ride } = await requestedRide();
  const driver = await onlineDriver();
  const accepted = await postRide(driver.accessToken, ride.id, "accept");
  expect(accepted.status, accepted.text).toBe(200);
  for (const step of steps) {
    const reply =
      step === "complete"
        ? await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 })
        : await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  return { passenger, driver, ride };
}

const STATUS_EVENT: Record<string, string> = {
  requested: "ride.created",
  reassigning: "ride.reassigning",
  accepted: "ride.accepted",
  arrived: "ride.arrived",
  in_progress: "ride.started",
  completed: "ride.completed",
  cancelled: "ride.cancelled",
  expired: "ride.expired",
};

/**
 * The D1 row agrees with its history: seq runs 1..n without gaps, starts with ride.created,
 * last_seq is the highest seq, and the last event is the one that led to the row's status.
 */
export async function expectRideConsistent(rideId: string) {
  const row = await rideRow(rideId);
  const events = await rideEvents(rideId);
  expect(row).not.toBeNull();
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events[0]?.type).toBe("ride.created");
  expect(row?.last_seq).toBe(events.length);
  // A ride its driver gave back is requested again, after a `ride.reassigning`.
  const reassigned = row?.status === "requested" && events.at(-1)?.type === "ride.reassigning";
  expect(events.at(-1)?.type).toBe(STATUS_EVENT[reassigned ? "reassigning" : String(row?.status)]);
  return { row, events };
}
