// The stdout table. Every speed figure is a ratio to GET /health measured in the same run; D1
// round trips are counts, and the São Paulo estimate adds what they cost from there.

import { SAO_PAULO_D1_RTT_MS } from "./round-trips.mjs";

const num = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits));
/** `sequential/total (statements)` from a round-trip summary, "-" without the header. */
const trips = (t) => (t ? `${t.sequential}/${t.total} (${t.statements})` : "-");
const times = (v) => (v === null || v === undefined ? "-" : `${v.toFixed(2)}×`);

export function table(headers, rows, align = []) {
  const cells = [headers, ...rows].map((row) => row.map((c) => String(c ?? "-")));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (row) =>
    row.map((c, i) => (align[i] === "l" ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

/** CPU in cores during a scenario: the server's, the bench's own, and the rest of the machine's. */
function cpuText(cpu) {
  if (!cpu) return "CPU not measured";
  const v = (x) => (x === null || x === undefined ? "?" : x.toFixed(2));
  return `CPU cores used: server ${v(cpu.server_cores)}, bench ${v(cpu.bench_cores)}, other processes ${v(cpu.other_cores)}`;
}

export function render(results) {
  const out = [];
  const m = results.meta;
  out.push("");
  out.push(`Benchmark ${m.date} — commit ${m.commit}${m.dirty ? " (uncommitted changes)" : ""}`);
  out.push(
    `node ${m.node}, wrangler ${m.wrangler}, autocannon ${m.autocannon}, ${m.cpus}× ${m.cpu_model}` +
      ` (load average ${m.load_average_at_start.join(" ")} at start); server ${m.server}`,
  );
  if (m.bundle) {
    out.push(
      `worker bundle: ${(m.bundle.bytes / 1024).toFixed(0)} KiB, ${(m.bundle.gzip_bytes / 1024).toFixed(0)} KiB gzipped`,
    );
  }
  out.push(
    `load: ${m.params.connections} connections, ${m.params.duration_s} s per timed scenario, ${m.params.rides} ride requests; ` +
      `race: ${m.params.rounds} rounds × ${m.params.drivers} drivers; fan-out: ${m.params.sockets} sockets`,
  );
  out.push("");

  out.push(
    "Load (autocannon). Ratios are to GET /health under the same load in this run: req/s ratio = scenario ÷",
  );
  out.push(
    "health (higher is better), latency ratios = scenario ÷ health (lower is better). The idle row (one request",
  );
  out.push("at a time) is the base of the race and fan-out ratios below.");
  const base = results.load.find((s) => s.key === "health");
  const idle = results.load.find((s) => s.key === "idle");
  const baseCell = (s, text) => (s === base ? text : s === idle ? "(idle base)" : null);
  out.push(
    table(
      [
        "scenario",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "req/s ratio",
        "p50 ratio",
        "p99 ratio",
        "D1 seq/total (stmts)",
        "est. São Paulo p50",
      ],
      results.load.map((s) => [
        s.name,
        s.connections,
        s.requests,
        num(s.rps, 0),
        num(s.latency_ms.p50),
        num(s.latency_ms.p99),
        s.non2xx,
        s.errors + s.timeouts,
        baseCell(s, "1.00× (base)") ?? times(s.ratio_to_health.rps),
        baseCell(s, "1.00×") ?? times(s.ratio_to_health.p50),
        baseCell(s, "1.00×") ?? times(s.ratio_to_health.p99),
        trips(s.d1_round_trips),
        s.sao_paulo_p50_ms === null || s.sao_paulo_p50_ms === undefined
          ? "-"
          : `${num(s.sao_paulo_p50_ms)} ms`,
      ]),
      ["l"],
    ),
  );
  for (const s of results.load) {
    const codes = Object.entries(s.status_codes)
      .map(([c, n]) => `${c}×${n}`)
      .join(" ");
    out.push(`  ${s.name}: status codes ${codes || "none"}; ${cpuText(s.cpu)}`);
  }
  out.push("");

  if (results.race) {
    out.push(
      "Accept race (one simultaneous burst per round; expected exactly one 200, the rest 409, no 5xx):",
    );
    out.push(
      table(
        [
          "round",
          "drivers",
          "200",
          "409",
          "other",
          "burst ms",
          "÷ idle p50",
          "reply p50 ms",
          "reply p99 ms",
          "p99 ÷ health p99",
          "÷ /health burst p99",
          "/health burst p99 ÷ health p99",
          "stored",
          "result",
        ],
        results.race.rounds.map((r) => [
          r.round,
          r.drivers,
          r.ok,
          r.conflict,
          r.other,
          num(r.burst_ms, 0),
          times(r.burst_ratio_to_idle_health_p50),
          num(r.reply_ms.p50, 0),
          num(r.reply_ms.p99, 0),
          times(r.reply_p99_ratio_to_health_p99),
          times(r.reply_p99_ratio_to_health_burst_p99),
          times(r.health_burst_p99_ratio_to_health_p99),
          r.stored_status,
          r.pass ? "PASS" : "FAIL",
        ]),
      ),
    );
    out.push(
      `  race: ${results.race.passed}/${results.race.rounds.length} rounds PASS; ${cpuText(results.race.cpu)}`,
    );
    out.push("");
  }

  if (results.offers) {
    const o = results.offers;
    out.push(
      `Offer latency: ${o.answered}/${o.rounds} rides reached a driver socket (${o.sockets_open} drivers on /v1/ws, ` +
        `${o.drivers_offered_per_ride ?? "-"} offered per ride); ms from sending POST /v1/rides to the first ride.offered: ` +
        `p50 ${num(o.first_offer_ms.p50)}, p99 ${num(o.first_offer_ms.p99)}, max ${num(o.first_offer_ms.max)}; ` +
        `p99 ÷ idle health p50 ${times(o.first_offer_p99_ratio_to_idle_health_p50)}`,
    );
    out.push(`  ${cpuText(o.cpu)}`);
    out.push("");
  }

  if (results.fanout) {
    const f = results.fanout;
    out.push(
      `Fan-out: ${f.sockets_open}/${f.sockets_requested} sockets on one ride (opened in ${num(f.open_ms, 0)} ms); ` +
        "ms from sending the driver's request to each socket receiving the event:",
    );
    out.push(
      table(
        ["event", "received", "first", "p50", "p99", "last (all)", "HTTP reply", "p50 ÷ idle", "last ÷ idle"],
        f.events.map((e) => [
          e.event,
          `${e.received}/${e.sockets}`,
          num(e.first_ms),
          num(e.p50_ms),
          num(e.p99_ms),
          e.all_received_ms === null ? `${num(e.max_ms)} (not all)` : num(e.all_received_ms),
          `${e.trigger_status} in ${num(e.trigger_reply_ms)}`,
          times(e.ratio_to_idle_health_p50?.p50),
          times(e.ratio_to_idle_health_p50?.last),
        ]),
        ["l"],
      ),
    );
    out.push(`  ${cpuText(f.cpu)}`);
    out.push("");
  }

  if (results.pix_confirm) {
    const x = results.pix_confirm;
    out.push(
      `Pix confirmation: ${x.confirmed}/${x.rides} rides paid at the Efí sandbox reached the passenger's socket as ` +
        `payment.confirmed; ms from the pay call: p50 ${num(x.confirmed_ms.p50, 0)}, p95 ${num(x.confirmed_ms.p95, 0)}, ` +
        `p99 ${num(x.confirmed_ms.p99, 0)}, max ${num(x.confirmed_ms.max, 0)}; ` +
        `target p99 ≤ ${x.target_p99_ms} ms: ${x.pass ? "PASS" : "FAIL"}`,
    );
    out.push(`  ${cpuText(x.cpu)}`);
    out.push("");
  }

  if (results.round_trip_budgets) {
    out.push(
      `D1 round trips per request (median; sequential/total, statements in brackets) against the budgets; ` +
        `est. São Paulo p50 = local p50 + sequential × ${SAO_PAULO_D1_RTT_MS} ms:`,
    );
    out.push(
      table(
        [
          "path",
          "budget seq/total",
          "measured",
          "local p50 ms",
          "est. São Paulo p50 ms",
          "verdict",
          "source",
        ],
        results.round_trip_budgets.map((r) => [
          r.path,
          `${r.budget.sequential}/${r.budget.total ?? "-"}`,
          trips(r.measured),
          num(r.local_p50_ms),
          num(r.sao_paulo_p50_ms),
          r.verdict ?? "-",
          r.source,
        ]),
        ["l", "r", "r", "r", "r", "l", "l"],
      ),
    );
    out.push("");
  }

  if (results.city) {
    const c = results.city;
    const pct = (v) => (v === null || v === undefined ? "?" : `${(100 * v).toFixed(1)} %`);
    out.push(
      `City: ${c.drivers} online drivers (${c.sockets_open} on /v1/ws) pinging every ${c.ping_interval_ms / 1000} s, ` +
        `${c.rides_per_minute} ride requests a minute, for ${num(c.duration_s, 0)} s:`,
    );
    out.push(
      `  pings: ${c.pings.sent} (${num(c.pings.per_second, 0)}/s of ${num(c.pings.target_per_second, 0)}/s wanted), p50 ${num(c.pings.latency_ms.p50)} ms, ` +
        `p99 ${num(c.pings.latency_ms.p99)} ms, est. São Paulo p50 ${num(c.ping_sao_paulo_p50_ms)} ms; ` +
        `D1 per ping ${trips(c.pings.d1_round_trips)}; status codes ${Object.entries(c.pings.status_codes)
          .map(([k, v]) => `${k}×${v}`)
          .join(" ")}`,
    );
    out.push(
      `  rides: ${c.rides.requested} requested, ${c.rides.accepted} accepted (${c.rides.accepts_sent} accepts sent), ` +
        `${c.rides.never_accepted} never accepted; one-winner check ${c.rides.passed}/${c.rides.requested} PASS`,
    );
    out.push(
      c.d1.measured
        ? `  D1: ${num(c.d1.statements_per_second)} statements/s (${pct(c.d1.share_of_budget)} of ` +
            `${c.d1.budget_statements_per_second}/s), ${num(c.d1.round_trips_per_second)} round trips/s; ` +
            `${c.d1.statements} statements in ${num(c.d1.seconds)} s, ${c.d1.on_request_paths} on request paths, ` +
            `${c.d1.background} in the background`
        : "  D1: not measured (the server does not serve /__dev/d1-stats: start it with D1_ROUND_TRIP_HEADER=true)",
    );
    out.push(`  ${cpuText(c.cpu)}`);
    out.push("");
  }

  if (results.problems.length > 0) {
    out.push("SERVER PROBLEMS:");
    for (const p of results.problems) {
      out.push(`- ${p.where}: ${p.what}`);
      for (const line of p.samples ?? []) out.push(`    ${line}`);
      for (const line of p.log ?? []) out.push(`    log | ${line}`);
    }
    out.push("");
  } else {
    out.push("No 5xx, connection errors or timeouts seen.");
    out.push("");
  }
  return out.join("\n");
}
