import { env } from "cloudflare:workers";
import {
  installRoundTripCounting,
  observeRoundTrips,
  RoundTripCounter,
  type RoundTripFigures,
} from "../../src/lib/d1-round-trips";
import { quietDispatch } from "./quiet-dispatch";

/**
 * Counts the D1 round trips of one request as a user waits on it, and traces them (each round
 * trip's SQL, and whether it opened a wave), so a failing budget says what to batch. The test, the
 * Worker and its Durable Objects share one isolate and one D1 binding object, so the binding
 * wrapped there (`installRoundTripCounting`) sees every round trip on the request's path, a
 * Durable Object's included.
 *
 * Counting is isolate-wide, so anything else running at the time would be billed to the request:
 * `measure` first quiets the dispatcher (every requested ride's timers an hour away, see
 * `quietDispatch`), then counts from right before the request is sent until its reply's body is
 * read. Work the request hands to `waitUntil`, a queue or an alarm after that is not counted.
 */
export async function measure<T>(
  send: () => Promise<T>,
  { quiet = true }: { quiet?: boolean } = {},
): Promise<{ reply: T; roundTrips: RoundTripFigures; trace: string[] }> {
  installRoundTripCounting(env.DB);
  if (quiet) await quietDispatch();
  const trace: string[] = [];
  const counter = new RoundTripCounter(trace);
  const stop = observeRoundTrips(counter);
  try {
    const reply = await send();
    return { reply, roundTrips: counter.figures(), trace };
  } finally {
    stop();
  }
}
