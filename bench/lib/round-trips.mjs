// D1 round trips as the Worker reports them when it runs with D1_ROUND_TRIP_HEADER=true (the bench
// starts wrangler dev so): each reply carries `x-d1-round-trips: total=3, sequential=2,
// statements=5`, the request's own round trips and those of the Durable Objects it called. From
// São Paulo each sequential round trip costs about SAO_PAULO_D1_RTT_MS more than it does here.

import { ROUND_TRIP_BUDGETS, SAO_PAULO_D1_RTT_MS } from "../../src/lib/round-trip-budgets.ts";
import { percentile } from "./stats.mjs";

export { ROUND_TRIP_BUDGETS, SAO_PAULO_D1_RTT_MS };
export const ROUND_TRIP_HEADER = "x-d1-round-trips";
export const STATS_PATH = "/__dev/d1-stats";

/** `{ total, sequential, statements }` from the header's value, or null without one. */
export function parseRoundTrips(value) {
  if (typeof value !== "string") return null;
  const figures = {};
  for (const part of value.split(",")) {
    const [key, n] = part.trim().split("=");
    if (key && Number.isFinite(Number(n))) figures[key] = Number(n);
  }
  return "total" in figures && "sequential" in figures ? figures : null;
}

/** The header from a fetch Headers or a plain object of headers (autocannon's), any case. */
export function roundTripsOf(headers) {
  if (!headers) return null;
  if (typeof headers.get === "function") return parseRoundTrips(headers.get(ROUND_TRIP_HEADER));
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === ROUND_TRIP_HEADER) return parseRoundTrips(String(value));
  }
  return null;
}

/** Collects the figures of many replies; `summary()` gives the medians and the p99s. */
export function roundTripSamples() {
  const samples = [];
  return {
    add(figures) {
      if (figures) samples.push(figures);
    },
    summary() {
      if (samples.length === 0) return null;
      const of = (key, p) =>
        percentile(
          samples.map((s) => s[key] ?? 0),
          p,
        );
      return {
        replies: samples.length,
        total: of("total", 50),
        sequential: of("sequential", 50),
        statements: of("statements", 50),
        sequential_p99: of("sequential", 99),
        statements_sum: samples.reduce((sum, s) => sum + (s.statements ?? 0), 0),
      };
    },
  };
}

/** Local p50 plus what the median request's sequential round trips cost from São Paulo. */
export function saoPauloP50(localP50, summary) {
  if (!Number.isFinite(localP50) || !summary) return null;
  return localP50 + summary.sequential * SAO_PAULO_D1_RTT_MS;
}

export function budgetOf(key) {
  return ROUND_TRIP_BUDGETS.find((b) => b.key === key) ?? null;
}

/** "within" / "OVER" against the budget (median sequential and total), or null without either. */
export function verdict(key, summary) {
  const budget = budgetOf(key);
  if (!budget || !summary) return null;
  const over =
    summary.sequential > budget.sequential || (budget.total !== undefined && summary.total > budget.total);
  return over ? "OVER" : "within";
}

/** The isolate's round trips and statements so far (GET /__dev/d1-stats), or null when off. */
export async function isolateStats(base) {
  try {
    const response = await fetch(`${base}${STATS_PATH}`, { signal: AbortSignal.timeout(5_000) });
    if (response.status !== 200) return null;
    return await response.json();
  } catch {
    return null;
  }
}
