// `npm run bench`: a load run against `wrangler dev`, reported as ratios to GET /health measured
// on the same server in the same run, so the figures compare across machines (docs/benchmarks.md).
//
//   npm run bench                                  starts its own server (fresh local state)
//   npm run bench -- --url http://127.0.0.1:8787   uses a server that is already running
//   flags: --duration <s> (10)  --connections <n> (10)  --rounds <n> (5)  --drivers <n> (100)
//          --sockets <n> (100)  --rides <n> (requests in the POST /v1/rides scenario; by default
//          about --duration seconds' worth, from a short calibration run)
//          --city-drivers <n> (1000; 0 skips the city)  --city-duration <s> (60)
//          --city-rides-per-min <n> (30)  --pix-rides <n> (30; 0 skips the Pix confirmation)
//          --disk-state (the server's local state on disk, not in /dev/shm)  --out <file> (bench/results.json)
//
// Prints a table and writes bench/results.json. Exits 1 when a race round or a city ride fails or
// the server answered 5xx / dropped connections anywhere; 2 when the bench itself could not run.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  cancelOpenRides,
  onlineDriver,
  PAULISTA,
  pool,
  register,
  requestRide,
  SE,
  signInReviewer,
} from "./lib/api.mjs";
import { budgetRows } from "./lib/budgets.mjs";
import { city, spread } from "./lib/city.mjs";
import { fanout } from "./lib/fanout.mjs";
import * as load from "./lib/load.mjs";
import { offerLatency } from "./lib/offers.mjs";
import { pixConfirmScenario } from "./lib/pix-confirm.mjs";
import { probeRoutes } from "./lib/probes.mjs";
import { acceptRace } from "./lib/race.mjs";
import { render } from "./lib/report.mjs";
import { saoPauloP50 } from "./lib/round-trips.mjs";
import { attachServer, startServer, stopAll } from "./lib/server.mjs";
import { ratio } from "./lib/stats.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const SEED_CONCURRENCY = 8;
/**
 * Rides requested, one at a time, in the offer-latency scenario: enough for its p99 to be a
 * percentile (of 20 rides, the nearest-rank p99 is simply the slowest one).
 */
const OFFER_ROUNDS = 100;

const log = (message) => console.log(message);

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      duration: { type: "string", default: "10" },
      connections: { type: "string", default: "10" },
      rounds: { type: "string", default: "5" },
      drivers: { type: "string", default: "100" },
      sockets: { type: "string", default: "100" },
      rides: { type: "string" },
      "city-drivers": { type: "string", default: "1000" },
      "city-duration": { type: "string", default: "60" },
      "city-rides-per-min": { type: "string", default: "30" },
      "pix-rides": { type: "string", default: "30" },
      "disk-state": { type: "boolean", default: false },
      out: { type: "string", default: join(ROOT, "bench", "results.json") },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      readFileSync(fileURLToPath(import.meta.url), "utf8")
        .split("\n")
        .slice(0, 14)
        .map((line) => line.replace(/^\/\/ ?/, ""))
        .join("\n"),
    );
    process.exit(0);
  }
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  return {
    url: values.url,
    duration: int("duration", 1),
    connections: int("connections", 1),
    rounds: int("rounds", 1),
    drivers: int("drivers", 2),
    sockets: int("sockets", 1),
    rides: values.rides === undefined ? null : int("rides", 1),
    cityDrivers: int("city-drivers", 0),
    cityDuration: int("city-duration", 1),
    cityRidesPerMin: int("city-rides-per-min", 1),
    pixRides: int("pix-rides", 0),
    diskState: values["disk-state"],
    out: resolve(values.out),
  };
}

function git(args) {
  try {
    return execFileSync("git", args, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

function meta(opts, server) {
  const version = (pkg) => {
    try {
      return require(`${pkg}/package.json`).version;
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    node: process.versions.node,
    wrangler: version("wrangler"),
    autocannon: version("autocannon"),
    commit: git(["rev-parse", "HEAD"]),
    dirty: (git(["status", "--porcelain"]) ?? "") !== "",
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model?.trim() ?? "unknown",
    load_average_at_start: loadavg().map((l) => Number(l.toFixed(2))),
    platform: `${process.platform} ${process.arch}`,
    server: server.started
      ? `wrangler dev started by the bench (${server.url})`
      : `already running at ${server.url}`,
    bundle: server.bundle ?? null,
    state_dir: server.stateDir ?? null,
    params: {
      duration_s: opts.duration,
      connections: opts.connections,
      rides: opts.rides,
      rounds: opts.rounds,
      drivers: opts.drivers,
      sockets: opts.sockets,
      city_drivers: opts.cityDrivers,
      city_duration_s: opts.cityDuration,
      city_rides_per_min: opts.cityRidesPerMin,
      pix_rides: opts.pixRides,
    },
  };
}

/** Server log lines worth showing next to a failure: errors and 5xx request lines. */
function interestingLog(lines) {
  return lines
    .filter((l) => /"level":"error"|✘|\bERROR\b|Error:|\s5\d\d\s|"status":5\d\d|Uncaught|exceeded/i.test(l))
    .slice(0, 15)
    .map((l) => l.slice(0, 400));
}

async function main() {
  let opts;
  try {
    opts = options();
  } catch (error) {
    console.error(`[bench] ${error.message} (see npm run bench -- --help)`);
    process.exitCode = 2;
    return;
  }
  let server;
  const stopOnSignal = (signal) => {
    log(`[bench] ${signal}: stopping`);
    stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  const started = Date.now();
  server = opts.url ? await attachServer(opts.url) : await startServer({ log, diskState: opts.diskState });
  let keepState = true;
  try {
    const { url } = server;
    const results = {
      meta: meta(opts, server),
      load: [],
      race: null,
      offers: null,
      fanout: null,
      probes: null,
      round_trip_budgets: null,
      city: null,
      pix_confirm: null,
      settle: [],
      problems: [],
    };

    /** A Worker reload mid-scenario (wrangler's watcher) invalidates its figures: say so. */
    const reloads = (where, mark) => {
      const n = server.logSince(mark).filter((l) => l.includes("Reloading local server")).length;
      if (n > 0) {
        results.problems.push({
          where,
          what: `the Worker was reloaded ${n}× during this scenario; its figures are not valid`,
        });
      }
    };
    const check = (where, mark, figures) => {
      reloads(where, mark);
      const bad5xx = Object.entries(figures.status_codes ?? {}).filter(([code]) => Number(code) >= 500);
      if (bad5xx.length > 0 || figures.errors > 0 || figures.timeouts > 0) {
        results.problems.push({
          where,
          what:
            `${bad5xx.map(([c, n]) => `${n}× HTTP ${c}`).join(", ") || "no 5xx"}; ` +
            `${figures.errors} connection errors, ${figures.timeouts} timeouts`,
          samples: Object.entries(figures.error_samples ?? {})
            .filter(([code]) => Number(code) >= 500)
            .flatMap(([code, bodies]) => bodies.map((b) => `${code}: ${b}`)),
          log: interestingLog(server.logSince(mark)),
        });
      }
    };

    // Seeding, through the public API only (register returns tokens: no login, no login limit).
    const seedStart = Date.now();
    const reviewerToken = await signInReviewer(url, server.reviewer);
    const drivers = await pool(Array.from({ length: opts.drivers }), SEED_CONCURRENCY, () =>
      onlineDriver(url, reviewerToken),
    );
    const register_ = (n) =>
      pool(Array.from({ length: n }), SEED_CONCURRENCY, () => register(url, "passenger"));
    const racePassengers = await register_(opts.rounds);
    const [fanoutPassenger] = await register_(1);
    const offerPassengers = await register_(OFFER_ROUNDS);
    // POST /v1/rides takes one passenger per request, so its length is a number of requests. Unless
    // --rides says how many, a short unrecorded run (which also warms the route) estimates the
    // rate, and the scenario gets about --duration seconds' worth.
    let rides = opts.rides;
    let probePassengers = [];
    if (rides === null) {
      probePassengers = await register_(2 * opts.connections);
      const mark = server.logMark();
      const probe = await load.createRides(url, {
        connections: opts.connections,
        passengers: probePassengers,
      });
      check("POST /v1/rides (calibration run)", mark, probe);
      await cancelOpenRides(url, probePassengers);
      // The probe runs cold, so it underestimates the warm rate: aim a bit past --duration.
      rides = Math.min(5_000, Math.max(2 * opts.connections, Math.ceil(1.5 * probe.rps * opts.duration)));
      results.meta.rides_calibration = {
        requests: probe.requests,
        rps: probe.rps,
        status_codes: probe.status_codes,
      };
      log(
        `[bench] calibration: POST /v1/rides at ~${probe.rps.toFixed(1)} req/s → ${rides} requests for the scenario`,
      );
    }
    results.meta.params.rides = rides;
    const ridePassengers = await register_(rides);
    const passengerCount =
      racePassengers.length + 1 + offerPassengers.length + probePassengers.length + ridePassengers.length;
    results.meta.seed = {
      drivers: drivers.length,
      passengers: passengerCount,
      seconds: (Date.now() - seedStart) / 1000,
    };
    log(
      `[bench] seeded ${drivers.length} online drivers and ${passengerCount} passengers` +
        ` (with the calibration) in ${results.meta.seed.seconds} s`,
    );

    // Warm-up (not recorded): the first requests of a fresh isolate pay for its start.
    await load.health(url, { connections: opts.connections, duration: 1 });

    const scenarios = [
      ["idle", () => load.idleHealth(url)],
      ["health", () => load.health(url, { connections: opts.connections, duration: opts.duration })],
      ["rides", () => load.createRides(url, { connections: opts.connections, passengers: ridePassengers })],
      [
        "location",
        () => load.locations(url, { connections: opts.connections, duration: opts.duration, drivers }),
      ],
    ];
    // Before each scenario: wait until the work the previous one left behind (waitUntil fan-outs,
    // alarms) has drained, so it is not billed to the next; during it: where the CPU went.
    const settle = async (before) => {
      const settled = await server.settle();
      results.settle.push({ before, ...settled });
      if (settled.quiet === false)
        log(`[bench] the server was still busy after ${settled.waited_ms} ms; going on`);
    };
    for (const [key, run] of scenarios) {
      await settle(key);
      const mark = server.logMark();
      const cpu = server.cpuMeter();
      const figures = { key, ...(await run()) };
      figures.cpu = cpu();
      results.load.push(figures);
      check(figures.name, mark, figures);
      log(
        `[load] ${figures.name}: ${figures.requests} requests, ${figures.rps.toFixed(0)} req/s, ` +
          `p50 ${figures.latency_ms.p50?.toFixed(1)} ms, p99 ${figures.latency_ms.p99?.toFixed(1)} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}; ` +
          `CPU cores: server ${figures.cpu.server_cores}, bench ${figures.cpu.bench_cores}, other ${figures.cpu.other_cores}`,
      );
      const unexpected = Object.entries(figures.error_samples);
      for (const [code, bodies] of unexpected) log(`[load]   ${code}: ${bodies[0]}`);
      if (key === "rides") {
        // Not timed: the passengers cancel, so the rides' dispatch does not run under later scenarios.
        const cancelled = await cancelOpenRides(url, [...probePassengers, ...ridePassengers]);
        log(`[bench] cancelled ${cancelled} rides still waiting for a driver`);
      }
    }
    const base = results.load.find((s) => s.key === "health");
    const idle = results.load.find((s) => s.key === "idle");
    for (const s of results.load) {
      s.ratio_to_health = {
        rps: ratio(s.rps, base.rps),
        p50: ratio(s.latency_ms.p50, base.latency_ms.p50),
        p99: ratio(s.latency_ms.p99, base.latency_ms.p99),
      };
      s.sao_paulo_p50_ms = saoPauloP50(s.latency_ms.p50, s.d1_round_trips);
    }

    await settle("race");
    let mark = server.logMark();
    let cpu = server.cpuMeter();
    const rounds = await acceptRace(url, { drivers, passengers: racePassengers, rounds: opts.rounds, log });
    results.race = { rounds, passed: rounds.filter((r) => r.pass).length, cpu: cpu() };
    for (const r of rounds) {
      r.burst_ratio_to_idle_health_p50 = ratio(r.burst_ms, idle.latency_ms.p50);
      r.reply_p99_ratio_to_health_p99 = ratio(r.reply_ms.p99, base.latency_ms.p99);
      r.reply_p99_ratio_to_health_burst_p99 = ratio(r.reply_ms.p99, r.health_burst_ms.p99);
      // The same figure for the bare burst: what 100 `/health` at once score against the race's bound.
      r.health_burst_p99_ratio_to_health_p99 = ratio(r.health_burst_ms.p99, base.latency_ms.p99);
    }
    reloads("accept race", mark);
    for (const r of rounds.filter((r) => r.other > 0)) {
      results.problems.push({
        where: `accept race round ${r.round} (POST /v1/rides/{id}/accept)`,
        what: `${r.other} replies neither 200 nor 409: ${JSON.stringify(r.codes)}`,
        samples: r.other_samples.map((s) => `${s.status}: ${s.body}`),
        log: interestingLog(server.logSince(mark)),
      });
    }

    await settle("offers");
    mark = server.logMark();
    cpu = server.cpuMeter();
    results.offers = await offerLatency(url, { drivers, passengers: offerPassengers, log });
    results.offers.cpu = cpu();
    results.offers.first_offer_p99_ratio_to_idle_health_p50 = ratio(
      results.offers.first_offer_ms.p99,
      idle.latency_ms.p50,
    );
    reloads("offer latency", mark);
    if (results.offers.answered < results.offers.rounds) {
      results.problems.push({
        where: "offer latency (POST /v1/rides → ride.offered on /v1/ws)",
        what: `${results.offers.rounds - results.offers.answered} of ${results.offers.rounds} rides reached no driver socket`,
        samples: results.offers.failures.map((f) => JSON.stringify(f)),
        log: interestingLog(server.logSince(mark)),
      });
    }

    await settle("fanout");
    mark = server.logMark();
    cpu = server.cpuMeter();
    results.fanout = await fanout(url, {
      passenger: fanoutPassenger,
      driver: drivers[0],
      sockets: opts.sockets,
      log,
    });
    results.fanout.cpu = cpu();
    reloads("fan-out", mark);
    for (const e of results.fanout.events) {
      e.ratio_to_idle_health_p50 = {
        p50: ratio(e.p50_ms, idle.latency_ms.p50),
        p99: ratio(e.p99_ms, idle.latency_ms.p50),
        last: ratio(e.all_received_ms, idle.latency_ms.p50),
      };
    }
    for (const e of results.fanout.events) {
      if (e.trigger_status !== 200 || e.received < e.sockets) {
        results.problems.push({
          where: `fan-out ${e.trigger}`,
          what: `trigger answered ${e.trigger_status}; ${e.received}/${e.sockets} sockets got ${e.event}`,
          samples: e.trigger_body ? [e.trigger_body] : [],
          log: interestingLog(server.logSince(mark)),
        });
      }
    }
    if (results.fanout.refused_count > 0) {
      results.problems.push({
        where: "fan-out GET /v1/rides/{id}/ws",
        what: `${results.fanout.refused_count} of ${opts.sockets} sockets did not open or were closed`,
        samples: results.fanout.refused.map((r) => JSON.stringify(r)),
        log: interestingLog(server.logSince(mark)),
      });
    }

    // The budgeted routes no scenario drives, one request at a time.
    await settle("probes");
    const probeRide = await requestRide(url, fanoutPassenger);
    results.probes = await probeRoutes(url, {
      passenger: fanoutPassenger,
      driver: drivers[1] ?? drivers[0],
      rideId: probeRide.id,
    });
    await cancelOpenRides(url, [fanoutPassenger]);
    results.round_trip_budgets = budgetRows(results);

    if (opts.pixRides > 0) {
      await settle("pix_confirm");
      mark = server.logMark();
      cpu = server.cpuMeter();
      results.pix_confirm = await pixConfirmScenario(url, server, { drivers, rides: opts.pixRides, log });
      results.pix_confirm.cpu = cpu();
      reloads("Pix confirmation", mark);
      if (results.pix_confirm.confirmed < results.pix_confirm.rides) {
        results.problems.push({
          where: "Pix confirmation (sandbox pay → payment.confirmed on /v1/ws)",
          what: `${results.pix_confirm.rides - results.pix_confirm.confirmed} of ${results.pix_confirm.rides} payments were not confirmed on the passenger's socket`,
          samples: results.pix_confirm.failures.map((f) => JSON.stringify(f)),
          log: interestingLog(server.logSince(mark)),
        });
      }
    }

    if (opts.cityDrivers > 0) {
      // The city's drivers: the seeded ones (at Sé) and as many more as it needs, spread over ~4 km.
      const cityStart = Date.now();
      const homes = spread(SE, Math.max(0, opts.cityDrivers - drivers.length));
      const more = await pool(homes, SEED_CONCURRENCY, async (home) => ({
        ...(await onlineDriver(url, reviewerToken, home)),
        home,
      }));
      const cityDrivers = [...drivers.slice(0, opts.cityDrivers).map((d) => ({ ...d, home: SE })), ...more];
      const cityPassengers = await register_(Math.ceil((opts.cityRidesPerMin * opts.cityDuration) / 60) + 1);
      results.meta.city_seed_seconds = (Date.now() - cityStart) / 1000;
      log(
        `[bench] city: ${cityDrivers.length} online drivers (${more.length} seeded in ${results.meta.city_seed_seconds} s)`,
      );
      await settle("city");
      mark = server.logMark();
      cpu = server.cpuMeter();
      results.city = await city(url, {
        drivers: cityDrivers,
        passengers: cityPassengers,
        durationS: opts.cityDuration,
        pingIntervalMs: 4_000,
        ridesPerMinute: opts.cityRidesPerMin,
        dropoff: PAULISTA,
        log,
      });
      results.city.cpu = cpu();
      results.city.ping_sao_paulo_p50_ms = saoPauloP50(
        results.city.pings.latency_ms.p50,
        results.city.pings.d1_round_trips,
      );
      reloads("city", mark);
      if (results.city.rides.failed.length > 0 || results.city.server_error_count > 0) {
        results.problems.push({
          where: "city (pings, ride requests, accepts)",
          what: `${results.city.rides.failed.length} rides failed the one-winner check; ${results.city.server_error_count} 5xx or dropped replies`,
          samples: [
            ...results.city.rides.failed.slice(0, 5).map((f) => JSON.stringify(f)),
            ...results.city.server_errors,
          ],
          log: interestingLog(server.logSince(mark)),
        });
      }
    }

    results.meta.total_seconds = (Date.now() - started) / 1000;
    writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(render(results));
    log(`[bench] wrote ${opts.out} (${results.meta.total_seconds.toFixed(0)} s in all)`);
    keepState = results.problems.length > 0;
    const raceFailed = results.race.passed < results.race.rounds.length;
    process.exitCode = raceFailed || results.problems.length > 0 ? 1 : 0;
  } catch (error) {
    console.error(`[bench] failed: ${error.stack ?? error.message}`);
    const tail = server.logTail(30);
    if (tail.length) console.error(`--- last wrangler dev lines ---\n${tail.join("\n")}`);
    process.exitCode = 2;
  } finally {
    await server.stop();
    if (server.started) {
      if (keepState) console.error(`[bench] server state and log kept in ${server.workDir}`);
      else server.cleanup();
    }
  }
}

main().catch((error) => {
  console.error(`[bench] ${error.stack ?? error.message}`);
  process.exitCode = 2;
});
