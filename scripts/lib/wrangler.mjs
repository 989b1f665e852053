// Running wrangler from the plain Node scripts in this folder. Wrangler is started with the Node
// that runs the script (`process.execPath`): under `npm run` that is the Node 22 from the `node`
// devDependency, which wrangler needs.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const require = createRequire(import.meta.url);
const WRANGLER_BIN = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Wrangler refuses Node < 22; say how to get the right one instead of its stack trace. */
export function assertNode22() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) {
    console.error(
      `This script needs Node 22+, but runs on Node ${process.versions.node}.\n` +
        "Run it through npm (npm run dev, npm run db:seed, npm run admin:create -- ...), which puts\n" +
        "the Node 22 from the `node` devDependency first on PATH.",
    );
    process.exit(1);
  }
}

/** Command and arguments that start wrangler, for spawn(). */
export function wranglerCommand(args) {
  return { command: process.execPath, args: [WRANGLER_BIN, ...args] };
}

/**
 * Runs a one-shot wrangler command to completion. stdin is closed, so wrangler sees a
 * non-interactive context and takes the default answer of any confirmation prompt (e.g. "About to
 * apply N migration(s)... continue?") instead of waiting on a TTY.
 * With `capture`, stdout is collected and returned; otherwise it is shown as it comes.
 */
export function runWrangler(args, { capture = false, label = `wrangler ${args.join(" ")}` } = {}) {
  const { command, args: fullArgs } = wranglerCommand(args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs, {
      cwd: ROOT,
      stdio: ["ignore", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
      env: {
        ...process.env,
        CI: process.env.CI ?? "true",
        WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      const error = new Error(`${label} failed (${signal ?? `exit ${code}`})`);
      error.stdout = stdout;
      error.stderr = stderr;
      reject(error);
    });
  });
}

/**
 * Executes SQL on the DB binding through `wrangler d1 execute --json` and returns one result
 * array per statement. `--command` (not `--file`) because against --remote a file goes through
 * D1's import API, which returns no rows.
 */
export async function d1Execute(sql, { remote = false } = {}) {
  const args = ["d1", "execute", "DB", remote ? "--remote" : "--local", "--json", "--command", sql];
  const label = `wrangler d1 execute DB ${remote ? "--remote" : "--local"}`;
  const { stdout } = await runWrangler(args, { capture: true, label });
  const start = stdout.indexOf("[");
  if (start === -1) throw new Error(`unexpected output from wrangler d1 execute:\n${stdout}`);
  const parsed = JSON.parse(stdout.slice(start));
  return parsed.map((statement) => statement.results ?? []);
}
