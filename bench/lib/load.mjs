// Load scenarios, driven by autocannon's programmatic API. Each request that must differ (another
// passenger, another Idempotency-Key, another driver) is rewritten in the request's
// `setupRequest` hook, which autocannon calls before every request it sends.

import autocannon from "autocannon";
import { RIDE_BODY, SE, unique } from "./api.mjs";
import { ROUND_TRIP_HEADER, roundTripSamples, roundTripsOf } from "./round-trips.mjs";
import { percentile } from "./stats.mjs";

const SAMPLE_BODIES_PER_STATUS = 3;
/** The load scenarios' D1 round trips are medians over one reply in this many. */
export const COUNT_ONE_IN = 10;

/**
 * Runs autocannon and returns the figures the report needs. `sampleErrors` keeps the first few
 * bodies of each non-2xx status, so a failure can be reported as it was answered.
 */
async function run(name, options) {
  const errorSamples = {};
  const sample = (status, body) => {
    if (status >= 200 && status < 300) return;
    errorSamples[status] ??= [];
    const list = errorSamples[status];
    if (list.length < SAMPLE_BODIES_PER_STATUS) list.push(String(body).slice(0, 500));
  };
  const roundTrips = roundTripSamples();
  let sent = 0;
  const requests = (options.requests ?? [{}]).map((r) => ({
    ...r,
    // Only one request in COUNT_ONE_IN asks the Worker to count its D1 round trips: counting
    // costs the Worker CPU (2.7 ms a ride request, little for /health), which would bias the ratios.
    setupRequest: (req, context) => {
      const built = r.setupRequest ? r.setupRequest(req, context) : req;
      sent += 1;
      if (sent % COUNT_ONE_IN === 1) return built;
      return { ...built, headers: { ...built.headers, [ROUND_TRIP_HEADER]: "skip" } };
    },
    onResponse: (status, body, _context, headers) => {
      sample(status, body);
      roundTrips.add(roundTripsOf(headers));
    },
  }));
  // autocannon ends a run at its next sample tick: at its default of one per second, a run sized
  // in requests (the ride requests') was billed up to a second it did not use, ~10 % of its rate.
  const instance = autocannon({ timeout: 30, sampleInt: 50, ...options, requests });
  // Its latency histogram keeps whole milliseconds, truncated (a 4.9 ms reply counts as 4), which
  // put the idle base, a few ms, up to a quarter low. The percentiles come from each 2xx reply's
  // own time instead, as autocannon measured it, like the first offer's and the race's.
  const times = [];
  instance.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await instance;
  const completed = result.requests.total;
  const seconds = result.duration;
  return {
    name,
    connections: options.connections,
    duration_s: seconds,
    requests: completed,
    sent: result.requests.sent,
    rps: seconds > 0 ? completed / seconds : 0,
    latency_ms: latencyOf(times),
    status_codes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]),
    ),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    error_samples: errorSamples,
    d1_round_trips: roundTrips.summary(),
  };
}

/** Percentiles of reply times in ms, to a hundredth (nulls when there was no 2xx reply). */
function latencyOf(times) {
  const hundredth = (ms) => (ms === null ? null : Math.round(ms * 100) / 100);
  const mean = times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : null;
  return {
    p50: hundredth(percentile(times, 50)),
    p90: hundredth(percentile(times, 90)),
    p99: hundredth(percentile(times, 99)),
    max: hundredth(percentile(times, 100)),
    mean: hundredth(mean),
  };
}

/** GET /health: the baseline every other figure is divided by. */
export function health(url, { connections, duration }) {
  return run("GET /health", { url: `${url}/health`, connections, duration });
}

/**
 * GET /health one request at a time: the idle round trip, the baseline of the figures measured
 * without load around them (the accept race burst, the fan-out).
 */
export function idleHealth(url, { amount = 100 } = {}) {
  return run("GET /health (idle, 1 conn)", { url: `${url}/health`, connections: 1, amount });
}

/**
 * POST /v1/rides, one request per passenger (a passenger may hold one active ride) with a fresh
 * Idempotency-Key each. `amount` requests in all; `passengers` must hold at least that many.
 */
export function createRides(url, { connections, passengers }) {
  let next = 0;
  const body = JSON.stringify(RIDE_BODY);
  return run("POST /v1/rides", {
    url,
    connections: Math.min(connections, passengers.length),
    amount: passengers.length,
    requests: [
      {
        method: "POST",
        path: "/v1/rides",
        setupRequest: (req) => {
          const passenger = passengers[next % passengers.length];
          next += 1;
          return {
            ...req,
            headers: {
              ...req.headers,
              "content-type": "application/json",
              authorization: `Bearer ${passenger.token}`,
              "idempotency-key": unique("bench-ride-"),
            },
            body,
          };
        },
      },
    ],
  });
}

/**
 * POST /v1/drivers/me/location from online drivers, round-robin over their tokens, each position
 * a few tens of metres from the last one (the stored cell rarely changes, as on a real street).
 */
export function locations(url, { connections, duration, drivers }) {
  let next = 0;
  return run("POST /v1/drivers/me/location", {
    url,
    connections,
    duration,
    requests: [
      {
        method: "POST",
        path: "/v1/drivers/me/location",
        setupRequest: (req) => {
          const driver = drivers[next % drivers.length];
          next += 1;
          const jitter = () => (Math.random() - 0.5) * 0.001; // about ±50 m
          const point = {
            lat: Number((SE.lat + jitter()).toFixed(6)),
            lng: Number((SE.lng + jitter()).toFixed(6)),
            heading: Math.round(Math.random() * 359),
            speed: Math.round(Math.random() * 15),
          };
          return {
            ...req,
            headers: {
              ...req.headers,
              "content-type": "application/json",
              authorization: `Bearer ${driver.token}`,
            },
            body: JSON.stringify(point),
          };
        },
      },
    ],
  });
}
