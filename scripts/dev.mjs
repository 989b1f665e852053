// `npm run dev`: the whole platform on this machine, no account needed. Creates .dev.vars from
// .dev.vars.example when missing, applies the D1 migrations locally, seeds the demo accounts, then
// runs the long-lived processes below side by side until Ctrl+C (SIGINT) or SIGTERM, which are
// passed on to each of them. If one of them stops on its own, the others are stopped too.

import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { assertNode22, ROOT, runWrangler, wranglerCommand } from "./lib/wrangler.mjs";

/** The Efí sandbox (sandbox/efi): a second Worker with its own config and local D1. */
const EFI_SANDBOX_CONFIG = "sandbox/efi/wrangler.toml";

/** Long-lived processes. A second worker (e.g. the Efí sandbox on 8788) is one more entry. */
const PROCESSES = [
  {
    name: "api",
    url: "http://127.0.0.1:8787",
    ...wranglerCommand(["dev", "--port", "8787", "--test-scheduled"]),
  },
  {
    name: "efi-sandbox",
    url: "http://127.0.0.1:8788/sandbox",
    // Its own inspector port, so the two wrangler dev processes do not contend for 9229, and no
    // hotkeys of its own: keys typed in the terminal belong to the api's session.
    ...wranglerCommand([
      "dev",
      "--config",
      EFI_SANDBOX_CONFIG,
      "--port",
      "8788",
      "--inspector-port",
      "9230",
      "--show-interactive-dev-session=false",
    ]),
  },
];

/** How long stopped processes get to exit before they are killed. */
const STOP_GRACE_MS = 10_000;

function log(message) {
  console.log(`[dev] ${message}`);
}

async function prepare() {
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) {
    copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
    log("Created .dev.vars from .dev.vars.example (local-only secrets; edit it if you need to).");
  }

  log("Applying D1 migrations to the local database...");
  await runWrangler(["d1", "migrations", "apply", "DB", "--local"]);

  log("Applying the Efí sandbox's D1 migrations to its local database...");
  await runWrangler(["d1", "migrations", "apply", "EFI_DB", "--local", "--config", EFI_SANDBOX_CONFIG]);

  log("Seeding demo data...");
  await new Promise((resolve, reject) => {
    const seed = spawn(process.execPath, [join(ROOT, "scripts", "seed.mjs")], {
      cwd: ROOT,
      stdio: "inherit",
    });
    seed.on("error", reject);
    seed.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`db:seed failed (exit ${code})`))));
  });
}

function runAll() {
  const running = new Map();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (signal) => {
    if (stopping) return;
    stopping = true;
    for (const [, child] of running) child.kill(signal);
    setTimeout(() => {
      for (const [name, child] of running) {
        log(`${name} did not stop within ${STOP_GRACE_MS / 1000}s; killing it.`);
        child.kill("SIGKILL");
      }
    }, STOP_GRACE_MS).unref();
  };

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      log(`${signal} received, stopping ${[...running.keys()].join(", ")}...`);
      stopAll(signal);
    });
  }

  for (const proc of PROCESSES) {
    log(`Starting ${proc.name}${proc.url ? ` on ${proc.url}` : ""}`);
    const child = spawn(proc.command, proc.args, {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, ...proc.env },
    });
    running.set(proc.name, child);
    child.on("error", (error) => {
      log(`${proc.name} could not start: ${error.message}`);
    });
    child.on("close", (code, signal) => {
      running.delete(proc.name);
      if (!stopping) {
        log(`${proc.name} exited (${signal ?? `code ${code}`}); stopping the rest.`);
        exitCode = code || 1;
        stopAll("SIGTERM");
      }
      if (running.size === 0) process.exit(exitCode);
    });
  }
}

assertNode22();
try {
  await prepare();
} catch (error) {
  console.error(`[dev] ${error.message}`);
  process.exit(1);
}
runAll();
