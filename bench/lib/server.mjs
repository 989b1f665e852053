// The server under test: either one the bench starts itself (`wrangler dev` on a free port with a
// fresh persistence directory, migrations applied first) or one already running at --url.
//
// A started server runs in its own process group (wrangler, its esbuild and workerd children), so
// stopping it is one signal to the group, then SIGKILL for whatever did not exit in time.

import { spawn } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, runWrangler, wranglerCommand } from "../../scripts/lib/wrangler.mjs";

const STOP_GRACE_MS = 5_000;
const running = new Set(); // every server started and not yet stopped: { stop, workDir }

/** Stops every server this process started and removes its files (for signal handlers). */
export async function stopAll() {
  await Promise.all(
    [...running].map(async (server) => {
      await server.stop();
      rmSync(server.workDir, { recursive: true, force: true });
    }),
  );
}
const READY_TIMEOUT_MS = 90_000;
const MAX_LINES = 20_000;

/** True if nothing listens on 127.0.0.1:port. */
function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The first free port from `start` up. */
export async function freePort(start) {
  for (let port = start; port < start + 200; port++) {
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${start}..${start + 199}`);
}

/**
 * The secrets the bench gives the API and its helper scripts: none when the project has a
 * .dev.vars (wrangler dev and the scripts read it themselves; an existing one is never touched),
 * otherwise the values of .dev.vars.example, as `--var KEY:VALUE` flags for wrangler and as
 * environment variables for the scripts (`npm run efi:webhook` needs the Efí credentials).
 */
export function devVars() {
  if (existsSync(join(ROOT, ".dev.vars"))) return { flags: [], env: {}, source: ".dev.vars" };
  const text = readFileSync(join(ROOT, ".dev.vars.example"), "utf8");
  const env = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2];
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    env[match[1]] = value;
  }
  const flags = Object.entries(env).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  return { flags, env, source: ".dev.vars.example (as --var flags)" };
}

/** Polls GET /health until it answers 200. */
export async function waitForHealth(url, { timeoutMs = READY_TIMEOUT_MS, isAlive = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the server exited before /health answered (last: ${last})`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}/health did not answer 200 within ${timeoutMs / 1000}s (last: ${last})`);
}

/** CPU time (in clock ticks, usually 1/100 s) used so far by the processes of a group; null off Linux. */
function groupCpuTicks(pgid) {
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  let ticks = 0;
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ... utime(14) stime(15): split after the command name's ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

/** Busy CPU ticks of the whole machine since boot (all cores), from /proc/stat; null off Linux. */
function machineBusyTicks() {
  try {
    const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return null;
  }
}

/**
 * Measures where the CPU went during a scenario, in cores (1.0 = one core busy throughout): the
 * server's process group, this bench process (autocannon, WebSocket clients), and everything else
 * on the machine. A large "other" means the figures were disturbed by something outside the run.
 */
export function cpuMeter(pgid = null) {
  const t0 = Date.now();
  const machine0 = machineBusyTicks();
  const group0 = pgid === null ? null : groupCpuTicks(pgid);
  const own0 = process.cpuUsage();
  return () => {
    const seconds = (Date.now() - t0) / 1000;
    const machine1 = machineBusyTicks();
    const group1 = pgid === null ? null : groupCpuTicks(pgid);
    const own = process.cpuUsage(own0);
    const cores = (ticks) => (ticks === null ? null : ticks / 100 / seconds);
    const total = machine0 === null || machine1 === null ? null : cores(machine1 - machine0);
    const server = group0 === null || group1 === null ? null : cores(group1 - group0);
    const bench = (own.user + own.system) / 1e6 / seconds;
    const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
    return {
      server_cores: round(server),
      bench_cores: round(bench),
      other_cores: total === null ? null : round(Math.max(0, total - (server ?? 0) - bench)),
    };
  };
}

/**
 * Waits until the server's processes use less than `threshold` of one core over a `windowMs`
 * window (work a scenario left behind, e.g. waitUntil() fan-outs, has drained), or `maxMs` passed.
 * Returns { waited_ms, quiet, last_cpu } (quiet null when CPU cannot be read).
 */
async function waitQuiet(pgid, { maxMs = 60_000, windowMs = 1_000, threshold = 0.1 } = {}) {
  const started = Date.now();
  let last = null;
  while (true) {
    const before = groupCpuTicks(pgid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const after = groupCpuTicks(pgid);
    if (before === null || after === null)
      return { waited_ms: Date.now() - started, quiet: null, last_cpu: null };
    last = (after - before) / 100 / ((Date.now() - t0) / 1000);
    if (last < threshold) return { waited_ms: Date.now() - started, quiet: true, last_cpu: last };
    if (Date.now() - started > maxMs)
      return { waited_ms: Date.now() - started, quiet: false, last_cpu: last };
  }
}

/** True while at least one process of the group exists. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * Where the server's local state goes: a memory-backed directory when the machine has one, unless
 * `diskState`. Under `wrangler dev` every new Durable Object is a SQLite file that workerd creates
 * and syncs on its one thread, so on a disk a ride request (a new room per ride) waits on the
 * disk's flushes, which production's storage does not put on the Worker's path; measured in
 * docs/benchmarks.md ("Where a ride request's time goes"). `--disk-state` measures it that way.
 */
function stateParent(diskState) {
  const memory = "/dev/shm";
  return !diskState && existsSync(memory) ? memory : tmpdir();
}

/**
 * Starts `wrangler dev` on a free port with a fresh --persist-to directory (migrations applied to
 * it first). The Worker is bundled once up front (`wrangler deploy --dry-run --outdir`) and served
 * with `--no-bundle`: edits to src/ during the run would otherwise make wrangler rebuild and restart
 * the Worker mid-scenario (503 "Your worker restarted mid-request" and multi-second stalls), so
 * the run measures one snapshot of the code. Returns { url, stop(), logSince(), ... }.
 */
export async function startServer({ log = console.log, roundTrips = true, diskState = false } = {}) {
  const workDir = mkdtempSync(join(stateParent(diskState), "mobility-bench-"));
  const persistTo = join(workDir, "state");
  const bundleDir = join(workDir, "bundle");
  const logFile = join(workDir, "wrangler-dev.log");
  const port = await freePort(8791);
  const inspectorPort = await freePort(9300);
  const vars = devVars();

  const wrangler = async (args) => {
    try {
      await runWrangler(args, { capture: true });
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      throw new Error(`${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    }
  };
  log(`[bench] bundling the Worker into ${bundleDir}`);
  await wrangler(["deploy", "--dry-run", "--outdir", bundleDir]);
  const entry = join(bundleDir, "index.js");
  const bundle = { bytes: statSync(entry).size, gzip_bytes: gzipSync(readFileSync(entry)).length };
  log(`[bench] applying D1 migrations to ${persistTo}`);
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
  // The staff account that approves the seeded drivers' documents (drivers may not drive before).
  const reviewer = { email: "bench-reviewer@bench.local", password: "bench-reviewer-2026" };
  const { insertIfAbsentSql, newUserRow } = await import("../../scripts/lib/users-sql.mjs");
  const reviewerRow = await newUserRow({ role: "ops", name: "Bench reviewer", ...reviewer });
  const insertReviewer = insertIfAbsentSql([reviewerRow]);
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--command", insertReviewer]);

  const { command, args } = wranglerCommand([
    "dev",
    entry,
    "--no-bundle",
    "--config",
    join(ROOT, "wrangler.toml"),
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
    ...vars.flags,
    // Development-only instrumentation: each reply carries its D1 round trips, and
    // GET /__dev/d1-stats the isolate's totals (src/lib/d1-round-trips.ts).
    ...(roundTrips ? ["--var", "D1_ROUND_TRIP_HEADER:true"] : []),
  ]);
  log(`[bench] starting wrangler dev on 127.0.0.1:${port} (secrets from ${vars.source}); log: ${logFile}`);
  const out = createWriteStream(logFile);
  const lines = []; // the last MAX_LINES lines of output; `dropped` counts the ones let go
  let dropped = 0;
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true, // its own process group, so the whole tree can be stopped at once
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      FORCE_COLOR: "0",
      NO_COLOR: "1",
      // wrangler dev's local trace collector writes every span and log line of the Worker into a
      // SQLite store on the Worker's own thread; production collects traces off that thread. It
      // cost a ride request about a third of its CPU here (docs/benchmarks.md, seventh pass).
      // `X_LOCAL_OBSERVABILITY=true npm run bench` measures with it.
      X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
    },
  });
  const pgid = child.pid;
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.on("data", (chunk) => {
      out.write(chunk);
      const text = partial + chunk.toString();
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      if (lines.length > MAX_LINES) {
        dropped += lines.length - MAX_LINES;
        lines.splice(0, lines.length - MAX_LINES);
      }
    });
  }

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const signal of ["SIGTERM", "SIGKILL"]) {
      if (!groupAlive(pgid)) break;
      try {
        process.kill(-pgid, signal);
      } catch {
        // already gone
      }
      const deadline = Date.now() + STOP_GRACE_MS;
      while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    }
    out.end();
    running.delete(registered);
    if (groupAlive(pgid)) log(`[bench] WARNING: processes of group ${pgid} are still running`);
  };

  const registered = { stop, workDir };
  running.add(registered);
  try {
    await waitForHealth(url, { isAlive: () => !exited });
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n--- wrangler dev output ---\n${lines.slice(-40).join("\n")}`);
  }
  return {
    url,
    port,
    pgid,
    stateDir: persistTo,
    inspectorPort,
    persistTo,
    reviewer,
    workDir,
    logFile,
    bundle,
    started: true,
    /** The log lines written since `mark` (an index from logMark()). */
    logMark: () => dropped + lines.length,
    logSince: (mark) => lines.slice(Math.max(0, mark - dropped)),
    logTail: (n = 40) => lines.slice(-n),
    stop,
    /** Starts a CPU measurement; call the returned function to end it (see cpuMeter()). */
    cpuMeter: () => cpuMeter(pgid),
    /** Resolves once the server is (nearly) idle: see waitQuiet(). */
    settle: (options) => waitQuiet(pgid, options),
    /** Removes the persistence directory (kept when something failed, for a look at the log). */
    cleanup: () => rmSync(workDir, { recursive: true, force: true }),
  };
}

/** A server already running at `url`: nothing to start or stop, no log to read. */
export async function attachServer(url) {
  const base = url.replace(/\/+$/, "");
  await waitForHealth(base, { timeoutMs: 10_000 });
  return {
    url: base,
    started: false,
    // `npm run dev`'s demo admin unless told otherwise: it approves the seeded drivers.
    reviewer: {
      email: process.env.BENCH_REVIEWER_EMAIL ?? "admin@demo.local",
      password: process.env.BENCH_REVIEWER_PASSWORD ?? "demo-password-1",
    },
    logMark: () => 0,
    logSince: () => [],
    logTail: () => [],
    stop: async () => {},
    cpuMeter: () => cpuMeter(null),
    // No process to watch: a fixed pause.
    settle: async () => {
      await new Promise((r) => setTimeout(r, 3_000));
      return { waited_ms: 3_000, quiet: null, last_cpu: null };
    },
    cleanup: () => {},
  };
}
