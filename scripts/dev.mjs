// `npm run dev`: the whole platform on this machine, no account needed. Creates .dev.vars from
// .dev.vars.example when missing, applies the D1 migrations locally, seeds the demo accounts, then
// runs the long-lived processes below side by side until Ctrl+C (SIGINT) or SIGTERM, which are
// passed on to each of them, and registers the API's webhook at the Efí sandbox. If one of them
// stops on its own, the others are stopped too.

import { spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assertNode22, ROOT, runWrangler, wranglerCommand } from "./lib/wrangler.mjs";

/** The Efí sandbox (sandbox/efi): a second Worker with its own config and local D1. */
const EFI_SANDBOX_CONFIG = "sandbox/efi/wrangler.toml";

/** The FCM push emulator (sandbox/push): a third Worker, state in memory. */
const PUSH_SANDBOX_CONFIG = "sandbox/push/wrangler.toml";

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
  {
    // The FCM push emulator (sandbox/push): the API's FCM_* vars point at it; its page lists
    // every push, so an app developer can watch offers arrive.
    name: "push-sandbox",
    url: "http://127.0.0.1:8789/sandbox/push",
    ...wranglerCommand([
      "dev",
      "--config",
      PUSH_SANDBOX_CONFIG,
      "--port",
      "8789",
      "--inspector-port",
      "9231",
      "--show-interactive-dev-session=false",
    ]),
  },
];

/** How long stopped processes get to exit before they are killed. */
const STOP_GRACE_MS = 10_000;

function log(message) {
  console.log(`[dev] ${message}`);
}

/** Appends the variables .dev.vars.example has and .dev.vars lacks (new ones since it was made). */
function addMissingVariables(devVars, example) {
  const names = (text) => new Set([...text.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const have = names(readFileSync(devVars, "utf8"));
  const missing = readFileSync(example, "utf8")
    .split("\n")
    .filter((line) => /^[A-Z0-9_]+=/.test(line) && !have.has(line.split("=")[0]));
  if (missing.length === 0) return;
  appendFileSync(devVars, `\n# Added from .dev.vars.example by npm run dev\n${missing.join("\n")}\n`);
  log(`Added ${missing.map((line) => line.split("=")[0]).join(", ")} to .dev.vars from .dev.vars.example.`);
}

async function prepare() {
  const devVars = join(ROOT, ".dev.vars");
  const example = join(ROOT, ".dev.vars.example");
  if (!existsSync(devVars)) {
    copyFileSync(example, devVars);
    log("Created .dev.vars from .dev.vars.example (local-only secrets; edit it if you need to).");
  } else {
    addMissingVariables(devVars, example);
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

/**
 * Once both workers answer, registers our webhook at the sandbox (what `npm run efi:webhook`
 * does against the real Efí), so a QR paid on the sandbox's page reaches the API.
 */
async function registerWebhookWhenUp() {
  const deadline = Date.now() + 60_000;
  for (const url of ["http://127.0.0.1:8787/health", "http://127.0.0.1:8788/sandbox/state"]) {
    while (!(await answers(url))) {
      if (Date.now() > deadline) return log(`${url} did not answer; run \`npm run efi:webhook\` by hand.`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const register = spawn(process.execPath, [join(ROOT, "scripts", "efi-webhook.mjs")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  register.on("close", (code) => {
    if (code !== 0) log("Registering the webhook at the Efí sandbox failed; run `npm run efi:webhook`.");
  });
}

async function answers(url) {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
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
registerWebhookWhenUp();
