// The Efí sandbox (sandbox/efi) for the Pix scenario: the API under test calls Efí at
// EFI_PIX_BASE_URL, which wrangler.toml points at http://127.0.0.1:8788, so the sandbox must
// listen there. Started like the API (its own process group, fresh --persist-to state) unless
// something already listens on 8788 (`npm run dev`'s sandbox), which is then used as it is. Either
// way the API's webhook is registered at it (`npm run efi:webhook`), so paying a charge at the
// sandbox notifies the API under test as Efí would.

import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runWrangler, wranglerCommand } from "../../scripts/lib/wrangler.mjs";
import { devVars, freePort } from "./server.mjs";

export const SANDBOX_URL = "http://127.0.0.1:8788";
const CONFIG = "sandbox/efi/wrangler.toml";
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

async function answers(url) {
  try {
    const reply = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return reply.status < 500;
  } catch {
    return false;
  }
}

const groupAlive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The sandbox at SANDBOX_URL with the API's webhook registered at it → { started, stop(), logFile }.
 * `workDir` holds its state and log when it is started here.
 */
export async function efiSandbox({ apiUrl, workDir, log = console.log }) {
  let stop = async () => {};
  let started = false;
  let logFile = null;
  if (!(await answers(`${SANDBOX_URL}/sandbox`))) {
    const persistTo = join(workDir, "efi-state");
    mkdirSync(persistTo, { recursive: true });
    logFile = join(workDir, "efi-sandbox.log");
    await runWrangler(
      ["d1", "migrations", "apply", "EFI_DB", "--local", "--config", CONFIG, "--persist-to", persistTo],
      {
        capture: true,
      },
    );
    const { command, args } = wranglerCommand([
      "dev",
      "--config",
      CONFIG,
      "--port",
      "8788",
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(await freePort(9500)),
      "--persist-to",
      persistTo,
      "--show-interactive-dev-session=false",
      // Homologação pays small charges by itself after a moment; the bench pays them itself.
      "--var",
      "EFI_AUTO_PAY_DELAY_MS:3600000",
    ]);
    const out = createWriteStream(logFile);
    const child = spawn(command, args, {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    const pgid = child.pid;
    started = true;
    stop = async () => {
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
    };
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await answers(`${SANDBOX_URL}/sandbox`))) {
      if (Date.now() > deadline || !groupAlive(pgid)) {
        await stop();
        throw new Error(`the Efí sandbox did not start on ${SANDBOX_URL}; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`[pix] Efí sandbox started on ${SANDBOX_URL} (log: ${logFile})`);
  } else {
    log(`[pix] using the Efí sandbox already running on ${SANDBOX_URL}`);
  }
  try {
    await registerWebhook(apiUrl);
  } catch (error) {
    await stop();
    throw error;
  }
  return { started, stop, logFile };
}

/** `npm run efi:webhook -- --public-url <api>`: the sandbox will notify the API under test. */
function registerWebhook(apiUrl) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, "scripts", "efi-webhook.mjs"), "--efi-url", SANDBOX_URL, "--public-url", apiUrl],
      // The credentials the API under test was started with, when it has no .dev.vars to read.
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...devVars().env } },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run efi:webhook failed (exit ${code}):\n${output}`)),
    );
  });
}
