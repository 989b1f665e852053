import {
  countingEnv,
  formatRoundTrips,
  installRoundTripCounting,
  isolateRoundTrips,
  ROUND_TRIP_HEADER,
  RoundTripCounter,
  roundTripsEnabled,
  SKIP_COUNTING,
  withRoundTrips,
} from "./d1-round-trips";

// The Worker's entry for the D1 round-trip instrument (`d1-round-trips.ts`): a header per
// response, and the isolate's totals.

/** Development only: the isolate's round trips and statements so far, for the bench's city run. */
export const ROUND_TRIP_STATS_PATH = "/__dev/d1-stats";

type FetchHandler<E> = (request: Request, env: E, ctx: ExecutionContext) => Response | Promise<Response>;

/**
 * With `D1_ROUND_TRIP_HEADER=true`, answers each request with its round trips in
 * `x-d1-round-trips` (the Worker's own and those of the Durable Objects it called, until the
 * response was built; `waitUntil` work after that is not the request's), and serves the
 * isolate's totals at `ROUND_TRIP_STATS_PATH`. Off, it is one string comparison.
 */
export function withRoundTripHeader<E extends object>(fetch: FetchHandler<E>): FetchHandler<E> {
  return async (request, env, ctx) => {
    if (!roundTripsEnabled(env)) return fetch(request, env, ctx);
    return countedFetch(fetch, request, env, ctx);
  };
}

async function countedFetch<E extends object>(
  fetch: FetchHandler<E>,
  request: Request,
  env: E,
  ctx: ExecutionContext,
): Promise<Response> {
  const db = (env as { DB?: D1Database }).DB;
  if (db) installRoundTripCounting(db);
  if (new URL(request.url).pathname === ROUND_TRIP_STATS_PATH) {
    return Response.json({ ...isolateRoundTrips(), at: new Date().toISOString() });
  }
  // Load runs count a sample (counting costs a ride request ~2.7 ms); the totals still count.
  if (request.headers.get(ROUND_TRIP_HEADER) === SKIP_COUNTING) return fetch(request, env, ctx);
  const counter = new RoundTripCounter();
  const response = await withRoundTrips(counter, () => fetch(request, countingEnv(env, counter), ctx));
  if (response.status === 101 || response.webSocket) return response;
  const headers = new Headers(response.headers);
  headers.set(ROUND_TRIP_HEADER, formatRoundTrips(counter.figures()));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
