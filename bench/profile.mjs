// Where a scenario's time goes inside the Worker: a V8 CPU profile of the isolate while the bench
// drives one route, summarised by function and by file.
//
//   npm run bench:profile                        # POST /v1/rides, 10 connections
//   npm run bench:profile -- --scenario location --requests 2000
//   npm run bench:profile -- --scenario offers --requests 20 --drivers 100 --no-profile
//   npm run bench:profile -- --scenario offers ... --settle-each   (each ride on an idle server)
//   npm run bench:profile -- --out /tmp/rides.cpuprofile   (open it in Chrome DevTools)
//   npm run bench:profile -- --analyse /tmp/rides.cpuprofile --requests 300   (summarise it again)
//   npm run bench:profile -- --no-profile --no-round-trips   (CPU per request only, no inspector)
//   npm run bench:profile -- --window       (profile the requests only, not the work they leave)
//   npm run bench:profile -- --keep         (keep the server's directory and its log)
//
// It starts its own `wrangler dev` exactly as `npm run bench` does (bench/lib/server.mjs), seeds
// through the public API, then connects to the inspector wrangler exposes for the Worker (the
// Chrome DevTools protocol, `Profiler.start` / `Profiler.stop`) around the scenario. The Worker,
// its Durable Objects and the local D1 simulator all run inside one workerd process; the profile
// covers the Worker's isolate (the routes and the Durable Object classes of this project), and
// "(idle)" is the time that isolate waited: on D1, on another object, or on the network.

import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { onlineDriver, pool, register, signInReviewer } from "./lib/api.mjs";
import * as load from "./lib/load.mjs";
import { offerLatency } from "./lib/offers.mjs";
import { startServer, stopAll } from "./lib/server.mjs";

const { values: opts } = parseArgs({
  options: {
    scenario: { type: "string", default: "rides" },
    requests: { type: "string", default: "300" },
    drivers: { type: "string", default: "20" },
    connections: { type: "string", default: "10" },
    top: { type: "string", default: "30" },
    out: { type: "string" },
    analyse: { type: "string" },
    "round-trips": { type: "boolean", default: true },
    profile: { type: "boolean", default: true },
    "disk-state": { type: "boolean", default: false },
    window: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "settle-each": { type: "boolean", default: false },
  },
  allowNegative: true,
});
const log = (line) => console.error(line);

/** The first inspector target of the Worker (wrangler lists it at /json). */
async function inspectorSocket(port) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
      const target = targets.find((t) => t.webSocketDebuggerUrl);
      // The inspector proxy refuses an upgrade without an Origin header.
      const origin = `http://127.0.0.1:${port}`;
      if (target) return new WebSocket(target.webSocketDebuggerUrl, { headers: { origin } });
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no inspector target on port ${port}`);
}

/** CPU ms used so far by each process of the server's group, by command name. */
function processCpuMs(pgid) {
  const used = {};
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // field 5, the process group
      used[name] = (used[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      // the process ended
    }
  }
  return used;
}

/** A minimal CDP client: send(method, params) → the result. */
async function devtools(port) {
  const socket = await inspectorSocket(port);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let nextId = 1;
  const waiting = new Map();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(message.error.message));
    else pending.resolve(message.result);
  };
  return {
    send(method, params = {}) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    close: () => socket.close(),
  };
}

/**
 * Where a sample's function lives in the sources: the bundle's source map turns a bundle
 * position into `src/...:line` (node_modules keep their package path).
 */
function locator(mapFile) {
  const map = new SourceMap(JSON.parse(readFileSync(mapFile, "utf8")));
  return ({ functionName, url, lineNumber, columnNumber }) => {
    const name = functionName || "(anonymous)";
    if (!url) return { name, file: name.startsWith("(") ? name : "(native)", where: "" };
    if (!url.endsWith("index.js")) return { name, file: url, where: url };
    const entry = map.findEntry(lineNumber, columnNumber);
    const source = (entry?.originalSource ?? "bundle").replace(/^.*?(node_modules|src)\//, "$1/");
    const file = source.startsWith("node_modules/")
      ? source
          .split("/")
          .slice(0, source.startsWith("node_modules/@") ? 3 : 2)
          .join("/")
      : source;
    return { name, file, where: `${source}:${(entry?.originalLine ?? 0) + 1}` };
  };
}

/** Self and inclusive time per function, and self time per file, from a CDP profile. */
function summarise(profile, locate) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = (profile.endTime - profile.startTime) / 1000;
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  const selfByFunction = new Map();
  const inclusive = new Map();
  const byEntry = new Map(); // the outermost frame of this project's code: which entry point paid
  const byFile = new Map();
  for (const [id, ms] of self) {
    const here = locate(byId.get(id).callFrame);
    add(selfByFunction, `${here.name} ${here.where}`, ms);
    add(byFile, here.file, ms);
    const seen = new Set(); // a recursive function counts once per sample
    let outermost = here.name.startsWith("(") ? here.name : "(outside this project's code)";
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = locate(byId.get(at).callFrame);
      const key = `${frame.name} ${frame.where}`;
      if (frame.where.startsWith("src/")) outermost = key;
      if (!frame.where || seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, ms);
    }
    add(byEntry, outermost, ms);
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    total,
    selfByFunction: sorted(selfByFunction),
    inclusive: sorted(inclusive),
    byFile: sorted(byFile),
    byEntry: sorted(byEntry),
  };
}

/** Prints the summaries of a profile, per request of the scenario. */
function report(profile, locate, requests) {
  const { total, selfByFunction, inclusive, byFile, byEntry } = summarise(profile, locate);
  const pct = (ms) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
  const perRequest = (ms) => `${(ms / requests).toFixed(2).padStart(7)} ms/req`;
  console.log(`profile: ${total.toFixed(0)} ms`);
  console.log("\nself time by file (or package)");
  for (const [file, ms] of byFile.slice(0, 15)) console.log(`${pct(ms)} ${perRequest(ms)}  ${file}`);
  console.log("\ntime by entry point (the outermost function of this project on the stack)");
  for (const [fn, ms] of byEntry.slice(0, 20)) console.log(`${pct(ms)} ${perRequest(ms)}  ${fn}`);
  console.log("\nself time by function");
  for (const [fn, ms] of selfByFunction.slice(0, Number(opts.top)))
    console.log(`${pct(ms)} ${perRequest(ms)}  ${fn}`);
  console.log("\ntime inside each function, callees included (src/ only)");
  const ours = inclusive.filter(([fn]) => fn.includes(" src/"));
  for (const [fn, ms] of ours.slice(0, Number(opts.top))) console.log(`${pct(ms)} ${perRequest(ms)}  ${fn}`);
}

async function main() {
  if (opts.analyse) {
    // A profile saved with --out, summarised again: its source map was saved beside it.
    const profile = JSON.parse(readFileSync(opts.analyse, "utf8"));
    report(profile, locator(`${opts.analyse}.map`), Number(opts.requests));
    return;
  }
  const server = await startServer({ log, roundTrips: opts["round-trips"], diskState: opts["disk-state"] });
  try {
    const { url } = server;
    const reviewerToken = await signInReviewer(url, server.reviewer);
    const drivers = await pool(Array.from({ length: Number(opts.drivers) }), 4, () =>
      onlineDriver(url, reviewerToken),
    );
    const connections = Number(opts.connections);
    const requests = Number(opts.requests);
    let run;
    if (opts.scenario === "rides") {
      const passengers = await pool(Array.from({ length: requests + 20 }), 4, () =>
        register(url, "passenger"),
      );
      await load.createRides(url, { connections, passengers: passengers.slice(requests) }); // warm-up
      run = () => load.createRides(url, { connections, passengers: passengers.slice(0, requests) });
    } else if (opts.scenario === "location") {
      run = () => load.locations(url, { connections, duration: 10, drivers });
    } else if (opts.scenario === "offers") {
      // The first-offer scenario of `npm run bench`, one ride at a time (--requests rides).
      const passengers = await pool(Array.from({ length: requests }), 4, () => register(url, "passenger"));
      run = async () => {
        const idle = await load.idleHealth(url);
        const beforeEach = opts["settle-each"] ? () => server.settle({ threshold: 0.05 }) : undefined;
        const { first_offer_ms: first } = await offerLatency(url, { drivers, passengers, log, beforeEach });
        log(
          `[offers] first offer p50 ${first.p50?.toFixed(1)} ms, p99 ${first.p99?.toFixed(1)} ms = ` +
            `${(first.p99 / idle.latency_ms.p50).toFixed(1)}× the idle /health p50 (${idle.latency_ms.p50?.toFixed(1)} ms)`,
        );
        return { name: "first ride.offered", requests, rps: 0, latency_ms: { p50: first.p50 } };
      };
    } else if (opts.scenario === "health") {
      run = () => load.health(url, { connections, duration: 10 });
    } else throw new Error(`unknown --scenario ${opts.scenario} (rides, offers, location, health)`);
    await server.settle();
    // Server CPU per request, measured until the work the requests left behind (alarms, queue
    // consumers, waitUntil) has drained: unlike req/s, it hardly moves when other processes
    // compete for the machine.
    const cpuPerRequest = async (scenario, { answered } = {}) => {
      const t0 = Date.now();
      const cpu = server.cpuMeter();
      const byProcess0 = processCpuMs(server.pgid);
      const figures = await scenario();
      await answered?.();
      await server.settle({ threshold: 0.05 });
      const cores = cpu().server_cores;
      const byProcess = processCpuMs(server.pgid);
      const split = Object.entries(byProcess)
        .map(([name, ms]) => [name, (ms - (byProcess0[name] ?? 0)) / figures.requests])
        .filter(([, ms]) => ms > 0.05)
        .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
        .join(", ");
      return { figures, ms: (cores * (Date.now() - t0)) / figures.requests, split };
    };
    const health = await cpuPerRequest(() => load.health(url, { connections, duration: 10 }));
    const base = health.figures;

    const profiling = opts.profile;
    const cdp = profiling ? await devtools(server.inspectorPort) : null;
    if (cdp) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    // With --window the profile ends when the scenario's last reply is in; otherwise it also covers
    // the drain, which the profiler slows down enough that a ride's offer window (alarms 15 s
    // later) can land in it and outweigh the requests themselves.
    let profile;
    const stopProfile = async () => {
      profile ??= (await cdp.send("Profiler.stop")).profile;
    };
    const measured = await cpuPerRequest(run, { answered: cdp && opts.window ? stopProfile : undefined });
    const figures = measured.figures;
    console.log(
      `GET /health: ${base.rps.toFixed(1)} req/s, p50 ${base.latency_ms.p50?.toFixed(1)} ms, server CPU ${health.ms.toFixed(2)} ms/req (${health.split})\n` +
        `${figures.name}: ${figures.requests} requests, ${figures.rps.toFixed(1)} req/s (${(figures.rps / base.rps).toFixed(2)}×), ` +
        `p50 ${figures.latency_ms.p50?.toFixed(1)} ms, server CPU ${measured.ms.toFixed(2)} ms/req (${(health.ms / measured.ms).toFixed(2)}× /health's; ${measured.split})`,
    );
    if (!cdp) return;
    await stopProfile();
    cdp.close();
    if (opts.out) {
      writeFileSync(opts.out, JSON.stringify(profile));
      copyFileSync(join(server.workDir, "bundle", "index.js.map"), `${opts.out}.map`);
    }
    report(profile, locator(join(server.workDir, "bundle", "index.js.map")), figures.requests);
  } finally {
    await server.stop();
    if (opts.keep) console.log(`kept: ${server.workDir} (its log: ${server.logFile})`);
    else server.cleanup();
  }
}

main().catch(async (error) => {
  console.error(`[profile] ${error.stack ?? error.message}`);
  await stopAll();
  process.exitCode = 1;
});
