// The city: many online drivers pinging their position every few seconds, spread evenly, while
// passengers request rides at a steady rate; the drivers hold their user sockets (`GET /v1/ws`)
// and accept what they are offered after a human pause, several at once when a ride is offered to
// several. Reports what one database must carry (D1 statements per second, from the Worker's
// development stats route), the pings' latency, and each ride's accept outcome: at most one
// winner, the stored ride naming him; two winners, or a stored ride naming someone else, fails.

import { call, pool, unique } from "./api.mjs";
import { isolateStats, roundTripSamples } from "./round-trips.mjs";
import { openSocket } from "./sockets.mjs";
import { percentile } from "./stats.mjs";

/**
 * What one D1 database serves: it runs queries one at a time, and a simple indexed query takes
 * about 1 ms, so about 1,000 a second. The capacity model keeps 10× headroom below it.
 */
export const D1_STATEMENTS_PER_SECOND = 1_000;
export const HEADROOM = 10;
/** Share of offers a driver takes, and his pause before tapping accept (ms). */
const ACCEPT_SHARE = 0.8;
const ACCEPT_PAUSE_MS = [500, 2_500];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const between = ([low, high]) => low + Math.random() * (high - low);

/** `count` points spread over a disc of `radiusM` around `center` (even in area). */
export function spread(center, count, radiusM = 4_000) {
  return Array.from({ length: count }, () => {
    const r = radiusM * Math.sqrt(Math.random());
    const angle = Math.random() * 2 * Math.PI;
    return {
      lat: Number((center.lat + (r * Math.cos(angle)) / 111_195).toFixed(6)),
      lng: Number(
        (center.lng + (r * Math.sin(angle)) / (111_195 * Math.cos((center.lat * Math.PI) / 180))).toFixed(6),
      ),
    };
  });
}

/**
 * `drivers`: online drivers, each with `home` (where he went online); `passengers`: one per ride
 * (a passenger holds one active ride). Rides go from near a random driver's home to `dropoff`.
 */
export async function city(
  url,
  { drivers, passengers, durationS, pingIntervalMs, ridesPerMinute, dropoff, log },
) {
  const wsUrl = `${url.replace(/^http/, "ws")}/v1/ws`;
  const pings = { ms: [], statuses: {}, roundTrips: roundTripSamples() };
  const requestStatements = { sum: 0, replies: 0, withHeader: 0 };
  const count = (reply) => {
    requestStatements.replies += 1;
    if (reply.roundTrips) {
      requestStatements.withHeader += 1;
      requestStatements.sum += reply.roundTrips.statements ?? 0;
    }
  };
  const rides = new Map(); // ride id → { accepts: [{ driver, status, code }], passenger, requested_at }
  const serverErrors = [];
  let stopping = false;

  // Offers reach a driver on his socket; he accepts some of them after a pause.
  const accept = async (driver, rideId) => {
    await sleep(between(ACCEPT_PAUSE_MS));
    if (stopping) return;
    const reply = await call(url, "POST", `/v1/rides/${rideId}/accept`, { token: driver.token });
    count(reply);
    if (reply.status >= 500) serverErrors.push(`accept ${reply.status}: ${reply.text.slice(0, 200)}`);
    const ride = rides.get(rideId);
    ride?.accepts.push({ driver: driver.id, status: reply.status, code: reply.json?.code ?? null });
  };
  const sockets = await pool(drivers, 25, async (driver) => {
    const entry = await openSocket(wsUrl, driver.token);
    entry.socket.addEventListener("message", (event) => {
      let m;
      try {
        m = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const rideId = m?.type === "ride.offered" ? (m.ride_id ?? m.data?.id) : null;
      if (rideId && !stopping && Math.random() < ACCEPT_SHARE) accept(driver, rideId);
    });
    return entry;
  });
  const open = sockets.filter((e) => e.opened && !e.closed).length;
  log(
    `[city] ${open}/${drivers.length} driver sockets open; ${durationS} s of pings every ${pingIntervalMs} ms`,
  );

  const before = await isolateStats(url);
  const started = performance.now();
  const deadline = started + durationS * 1_000;

  // Each driver pings every interval, the drivers' first pings spread evenly over one interval.
  const pingLoop = async (driver, i) => {
    await sleep((i * pingIntervalMs) / drivers.length);
    while (performance.now() < deadline) {
      const next = performance.now() + pingIntervalMs;
      const jitter = () => (Math.random() - 0.5) * 0.0004; // about ±20 m
      const reply = await call(url, "POST", "/v1/drivers/me/location", {
        token: driver.token,
        body: { lat: driver.home.lat + jitter(), lng: driver.home.lng + jitter(), heading: 90, speed: 8 },
      }).catch((error) => ({ status: 0, text: String(error), ms: null, roundTrips: null }));
      pings.statuses[reply.status] = (pings.statuses[reply.status] ?? 0) + 1;
      if (reply.ms !== null) pings.ms.push(reply.ms);
      pings.roundTrips.add(reply.roundTrips);
      count(reply);
      if (reply.status >= 500 || reply.status === 0)
        serverErrors.push(`ping ${reply.status}: ${reply.text.slice(0, 200)}`);
      await sleep(Math.max(0, next - performance.now()));
    }
  };

  // Rides at a steady rate whatever the server's pace (a slow reply does not delay the next
  // request), each from a fresh passenger near a random driver.
  const requestOne = async (passenger) => {
    const near = drivers[Math.floor(Math.random() * drivers.length)].home;
    const reply = await call(url, "POST", "/v1/rides", {
      token: passenger.token,
      headers: { "idempotency-key": unique("city-") },
      body: { pickup: near, dropoff, category: "pop", payment_method: "pix" },
    }).catch((error) => ({ status: 0, text: String(error), ms: null, roundTrips: null }));
    count(reply);
    if (reply.status === 201) {
      rides.set(reply.json.id, {
        passenger,
        accepts: [],
        requested_ms: reply.ms,
        round_trips: reply.roundTrips,
      });
    } else if (reply.status >= 500 || reply.status === 0) {
      serverErrors.push(`ride ${reply.status}: ${reply.text.slice(0, 200)}`);
    }
  };
  const rideLoop = async () => {
    const gap = 60_000 / ridesPerMinute;
    const inFlight = [];
    for (let n = 0; n < passengers.length && started + n * gap < deadline; n++) {
      await sleep(Math.max(0, started + n * gap - performance.now()));
      inFlight.push(requestOne(passengers[n]));
    }
    await Promise.all(inFlight);
  };

  await Promise.all([...drivers.map(pingLoop), rideLoop()]);
  const wallS = (performance.now() - started) / 1_000;
  stopping = true;
  await sleep(ACCEPT_PAUSE_MS[1] + 500); // accepts already on their way land
  const after = await isolateStats(url);
  for (const e of sockets) {
    try {
      e.socket.close(1000, "bench done");
    } catch {
      // already closed
    }
  }

  // Each ride: at most one 200; the stored ride names the winner. Then the passenger cancels.
  const outcomes = await pool([...rides.entries()], 8, async ([rideId, ride]) => {
    const winners = ride.accepts.filter((a) => a.status === 200);
    const others = ride.accepts.filter((a) => a.status !== 200 && a.status !== 409);
    const stored = await call(url, "GET", `/v1/rides/${rideId}`, { token: ride.passenger.token });
    const storedDriver = stored.json?.driver_id ?? null;
    const pass =
      winners.length <= 1 &&
      others.length === 0 &&
      (winners.length === 0 || (storedDriver === winners[0].driver && stored.json?.status === "accepted"));
    if (stored.json?.status && !["cancelled", "completed", "expired"].includes(stored.json.status)) {
      await call(url, "POST", `/v1/rides/${rideId}/cancel`, {
        token: ride.passenger.token,
        body: { reason: "bench: city over" },
      });
    }
    return {
      ride_id: rideId,
      accepts: ride.accepts.length,
      winners: winners.length,
      others: others.map((o) => `${o.status} ${o.code}`),
      stored_status: stored.json?.status ?? `GET ${stored.status}`,
      pass,
    };
  });

  const seconds = after && before ? (Date.parse(after.at) - Date.parse(before.at)) / 1_000 : null;
  const statements = after && before ? after.statements - before.statements : null;
  const roundTrips = after && before ? after.total - before.total : null;
  const perSecond = (n) => (n === null || !seconds ? null : n / seconds);
  const result = {
    drivers: drivers.length,
    sockets_open: open,
    duration_s: wallS,
    ping_interval_ms: pingIntervalMs,
    rides_per_minute: ridesPerMinute,
    pings: {
      sent: pings.ms.length,
      per_second: pings.ms.length / wallS,
      // Below the target, the server could not keep up (each driver waits for his last ping).
      target_per_second: (drivers.length * 1_000) / pingIntervalMs,
      status_codes: pings.statuses,
      latency_ms: { p50: percentile(pings.ms, 50), p99: percentile(pings.ms, 99) },
      d1_round_trips: pings.roundTrips.summary(),
    },
    rides: {
      requested: rides.size,
      accepted: outcomes.filter((o) => o.winners === 1).length,
      never_accepted: outcomes.filter((o) => o.winners === 0).length,
      accepts_sent: outcomes.reduce((n, o) => n + o.accepts, 0),
      passed: outcomes.filter((o) => o.pass).length,
      failed: outcomes.filter((o) => !o.pass),
    },
    d1: {
      measured: statements !== null,
      seconds,
      statements,
      round_trips: roundTrips,
      statements_per_second: perSecond(statements),
      round_trips_per_second: perSecond(roundTrips),
      budget_statements_per_second: D1_STATEMENTS_PER_SECOND,
      share_of_budget:
        perSecond(statements) === null ? null : perSecond(statements) / D1_STATEMENTS_PER_SECOND,
      // What the replies' headers account for; the rest is background (dispatch alarms,
      // waitUntil work, queue consumers) and the bench's own stats reads.
      on_request_paths: requestStatements.sum,
      background: statements === null ? null : statements - requestStatements.sum,
    },
    server_errors: serverErrors.slice(0, 10),
    server_error_count: serverErrors.length,
  };
  log(
    `[city] ${result.pings.sent} pings (${result.pings.per_second.toFixed(0)}/s), p50 ${result.pings.latency_ms.p50?.toFixed(1)} ms, ` +
      `p99 ${result.pings.latency_ms.p99?.toFixed(1)} ms; ${result.rides.requested} rides, ${result.rides.accepted} accepted, ` +
      `${result.rides.passed}/${outcomes.length} PASS; D1 ${result.d1.statements_per_second?.toFixed(1) ?? "?"} statements/s ` +
      `(${result.d1.share_of_budget === null ? "?" : (100 * result.d1.share_of_budget).toFixed(1)} % of ${D1_STATEMENTS_PER_SECOND}/s)`,
  );
  return result;
}
