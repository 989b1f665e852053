// The round-trip budget table of the report: for every budgeted path, what this run measured
// (median round trips per request from the x-d1-round-trips header), its local p50, and the
// estimated p50 from São Paulo (local p50 + median sequential round trips × SAO_PAULO_D1_RTT_MS).

import { ROUND_TRIP_BUDGETS, roundTripSamples, saoPauloP50, verdict } from "./round-trips.mjs";
import { percentile } from "./stats.mjs";

/** A payment paid at Efí reaches the passenger's socket as `payment.confirmed` within this, at p99. */
export const PIX_CONFIRM_P99_TARGET_MS = 1_000;

function fromSamples(figures) {
  const samples = roundTripSamples();
  for (const f of figures) samples.add(f);
  return samples.summary();
}

/** One row per budget: { key, path, budget, measured, local_p50_ms, sao_paulo_p50_ms, verdict, source }. */
export function budgetRows(results) {
  const load = (key) => results.load.find((s) => s.key === key);
  const rounds = results.race?.rounds ?? [];
  const event = (name) => results.fanout?.events.find((e) => e.event === name);
  const probe = (key) => results.probes?.find((p) => p.key === key);
  const measured = {
    location_ping: load("location") && {
      summary: load("location").d1_round_trips,
      p50: load("location").latency_ms.p50,
      source: "location scenario",
    },
    ride_request: load("rides") && {
      summary: load("rides").d1_round_trips,
      p50: load("rides").latency_ms.p50,
      source: "POST /v1/rides scenario",
    },
    accept_winner: rounds.length > 0 && {
      summary: fromSamples(rounds.map((r) => r.d1_round_trips?.winner)),
      p50: percentile(
        rounds.map((r) => r.reply_ms.p50),
        50,
      ),
      source: "accept race winners",
    },
    accept_loser: rounds.length > 0 && {
      summary: fromSamples(
        rounds.flatMap((r) => (r.d1_round_trips?.losers ? [r.d1_round_trips.losers] : [])),
      ),
      p50: percentile(
        rounds.map((r) => r.reply_ms.p50),
        50,
      ),
      source: "accept race losers (per-round medians)",
    },
    arrive: event("ride.arrived") && {
      summary: fromSamples([event("ride.arrived").trigger_round_trips]),
      p50: event("ride.arrived").trigger_reply_ms,
      source: "fan-out trigger (1 request)",
    },
    start: event("ride.started") && {
      summary: fromSamples([event("ride.started").trigger_round_trips]),
      p50: event("ride.started").trigger_reply_ms,
      source: "fan-out trigger (1 request)",
    },
  };
  for (const key of ["quote", "wallet", "ride_get"]) {
    const p = probe(key);
    if (p)
      measured[key] = {
        summary: p.d1_round_trips,
        p50: p.p50_ms,
        source: "probe (10 requests, one at a time)",
      };
  }
  return ROUND_TRIP_BUDGETS.map((budget) => {
    const m = measured[budget.key] || null;
    return {
      key: budget.key,
      path: budget.path,
      budget: { sequential: budget.sequential, total: budget.total ?? null },
      measured: m?.summary ?? null,
      local_p50_ms: m?.p50 ?? null,
      sao_paulo_p50_ms: m ? saoPauloP50(m.p50, m.summary) : null,
      verdict: m ? verdict(budget.key, m.summary) : null,
      source:
        m?.source ??
        (budget.key === "socket_frame"
          ? "not measured here (no HTTP reply; the test suite asserts it)"
          : "not measured"),
    };
  });
}
