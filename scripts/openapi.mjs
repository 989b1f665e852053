// The OpenAPI document `/openapi.json` serves, built on this machine with no account and no server.
//
//   node scripts/openapi.mjs            writes clients/ts/openapi.json            (npm run openapi)
//   node scripts/openapi.mjs --client   also regenerates clients/ts/schema.d.ts   (npm run client:generate)
//   node scripts/openapi.mjs --check    regenerates both in a temp dir and fails  (npm run client:check)
//                                       if the committed files differ
//
// How: esbuild bundles src/app.ts for Node (`cloudflare:*` modules, which only Durable Object
// classes use, are replaced by inert stubs), then the script calls the handler `app.doc31`
// registered for GET /openapi.json on a bare Hono app. That handler is the served one, with the
// document config given in app.ts, so there is no copy of the config here to drift; and calling
// it without the app's middleware needs no bindings or secrets (the request middleware builds a
// service context, which validates the whole Worker configuration).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLIENT_DIR = join(ROOT, "clients", "ts");
const DOCUMENT_PATH = "/openapi.json";

const require = createRequire(import.meta.url);
const OPENAPI_TYPESCRIPT_BIN = join(
  dirname(require.resolve("openapi-typescript/package.json")),
  "bin",
  "cli.js",
);

/**
 * `cloudflare:*` modules exist only in workerd. The app imports them only for classes to extend,
 * which are never instantiated here; a name missing below fails the build with esbuild's
 * "No matching export", so add it here.
 */
const CLOUDFLARE_STUB = `
  export class DurableObject {}
  export class WorkerEntrypoint {}
  export class WorkflowEntrypoint {}
  export class RpcTarget {}
  export const env = {};
`;

const cloudflareStub = {
  name: "cloudflare-stub",
  setup(b) {
    b.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, namespace: "cloudflare-stub" }));
    b.onLoad({ filter: /.*/, namespace: "cloudflare-stub" }, () => ({
      contents: CLOUDFLARE_STUB,
      loader: "js",
    }));
  },
};

async function loadCreateApp(workDir) {
  const outfile = join(workDir, "app.mjs");
  await build({
    entryPoints: [join(ROOT, "src", "app.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "warning",
    plugins: [cloudflareStub],
  });
  const { createApp } = await import(pathToFileURL(outfile).href);
  return createApp;
}

async function openApiDocument(workDir) {
  const createApp = await loadCreateApp(workDir);
  const app = createApp();
  const { Hono } = await import("hono");
  const route = app.routes.findLast((r) => r.method === "GET" && r.path === DOCUMENT_PATH);
  if (!route) throw new Error(`createApp() registers no GET ${DOCUMENT_PATH}`);
  const bare = new Hono().get(DOCUMENT_PATH, route.handler);
  const response = await bare.request(DOCUMENT_PATH);
  const body = await response.text();
  // doc31 answers 500 with the generator's error (e.g. a schema it cannot convert) as the body.
  if (response.status !== 200) throw new Error(`GET ${DOCUMENT_PATH}: ${response.status} ${body}`);
  return JSON.parse(body);
}

async function generate(outDir, { client }) {
  const workDir = mkdtempSync(join(tmpdir(), "openapi-"));
  try {
    const document = await openApiDocument(workDir);
    mkdirSync(outDir, { recursive: true });
    const documentFile = join(outDir, "openapi.json");
    writeFileSync(documentFile, `${JSON.stringify(document, null, 2)}\n`);
    if (client) {
      execFileSync(
        process.execPath,
        [OPENAPI_TYPESCRIPT_BIN, documentFile, "--output", join(outDir, "schema.d.ts")],
        // Its progress lines name a temp file in check mode; its errors go to stderr.
        { stdio: ["ignore", "ignore", "inherit"] },
      );
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function check() {
  const outDir = mkdtempSync(join(tmpdir(), "client-check-"));
  try {
    await generate(outDir, { client: true });
    const stale = ["openapi.json", "schema.d.ts"].filter((name) => {
      const committed = readOrNull(join(CLIENT_DIR, name));
      return committed !== readFileSync(join(outDir, name), "utf8");
    });
    if (stale.length > 0) {
      const files = stale.map((name) => relative(ROOT, join(CLIENT_DIR, name))).join(", ");
      console.error(
        `${files} differ from the routes: run \`npm run client:generate\` and commit the result.`,
      );
      process.exit(1);
    }
    console.log(`${relative(ROOT, CLIENT_DIR)} matches the routes.`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

function readOrNull(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

const args = process.argv.slice(2);
try {
  if (args.includes("--check")) {
    await check();
  } else {
    const client = args.includes("--client");
    await generate(CLIENT_DIR, { client });
    console.log(`Wrote ${relative(ROOT, CLIENT_DIR)}/openapi.json${client ? " and schema.d.ts" : ""}`);
  }
} catch (error) {
  // esbuild has already printed its errors with their source lines.
  if (!Array.isArray(error?.errors)) console.error(error);
  process.exit(1);
}
