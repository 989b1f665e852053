// `npm run efi:webhook [-- options]`: registers our Pix webhook at Efí for our Pix key,
//   PUT /v2/webhook/:chave  {webhookUrl: "https://<host>/webhooks/efi/pix?hmac=<secret>&ignorar="}
// with `x-skip-mtls-checking: true` (a Worker cannot check Efí's client certificate; the `hmac`
// secret, the sender IP and a read-back of every notification authenticate it instead).
//
// Configuration, first found wins: command-line options, the environment, .dev.vars, the [vars]
// of wrangler.toml, then local defaults that point at the Efí sandbox of `npm run dev`
// (http://127.0.0.1:8788). Against the real Efí, the request needs the application's client
// certificate: pass --cert (or EFI_CERT_PEM) with a PEM holding the certificate and its key, as
// `openssl pkcs12 -in cert.p12 -out cert.pem -nodes` writes it.

import { existsSync, readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { assertNode22, ROOT } from "./lib/wrangler.mjs";

assertNode22();
// Loaded after the Node check: the client is TypeScript, run by Node 22's type stripping.
const { createEfiClient, EfiError, efiWebhookUrl } = await import("../src/integrations/efi/index.ts");

const DEFAULTS = {
  EFI_PIX_BASE_URL: "http://127.0.0.1:8788",
  PUBLIC_BASE_URL: "http://127.0.0.1:8787",
};

const USAGE = `Usage: npm run efi:webhook [-- options]

Registers https://<host>/webhooks/efi/pix?hmac=<secret>&ignorar= at Efí for our Pix key.

Options (each overrides the variable named after it):
  --efi-url URL      Efí API Pix base URL             EFI_PIX_BASE_URL (default ${DEFAULTS.EFI_PIX_BASE_URL}, the sandbox)
  --public-url URL   this API's public base URL       PUBLIC_BASE_URL  (default ${DEFAULTS.PUBLIC_BASE_URL})
  --pix-key KEY      the Pix key to register          EFI_PIX_KEY
  --cert FILE        PEM with client cert and key     EFI_CERT_PEM     (needed against the real Efí)
  --validate-mtls    let Efí check mTLS on our URL (sends x-skip-mtls-checking: false)
  --dry-run          print what would be registered, send nothing
  -h, --help         show this help

Also read: EFI_CLIENT_ID, EFI_CLIENT_SECRET, EFI_WEBHOOK_HMAC_SECRET (from the environment or .dev.vars).`;

function fail(message) {
  console.error(`efi:webhook: ${message}`);
  process.exit(1);
}

/** KEY=value and KEY="value" lines of a dotenv file such as .dev.vars. */
function readDotenv(path) {
  if (!existsSync(path)) return {};
  const vars = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (!match) continue;
    let value = match[2];
    if (/^"(.*)"$/.test(value) || /^'(.*)'$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

/** The simple `KEY = "value"` lines of wrangler.toml's top-level [vars] table. */
function readWranglerVars(path) {
  if (!existsSync(path)) return {};
  const vars = {};
  let inVars = false;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const table = line.match(/^\s*\[+([^\]]+)\]+\s*$/);
    if (table) {
      inVars = table[1].trim() === "vars";
      continue;
    }
    const match = inVars && line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*$/);
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

/** A fetch that presents a client certificate, for calling the real Efí from this machine. */
function mtlsFetch(pem) {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: init.method,
          headers: init.headers,
          cert: pem,
          key: pem,
          signal: init.signal,
          minVersion: "TLSv1.2",
        },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
            }
            const body = Buffer.concat(chunks);
            const noBody = res.statusCode === 204 || res.statusCode === 304 || body.length === 0;
            resolve(new Response(noBody ? null : body, { status: res.statusCode, headers }));
          });
        },
      );
      req.on("error", reject);
      if (init.body) req.write(init.body);
      req.end();
    });
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      "efi-url": { type: "string" },
      "public-url": { type: "string" },
      "pix-key": { type: "string" },
      cert: { type: "string" },
      "validate-mtls": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
} catch (error) {
  fail(`${error.message}\n\n${USAGE}`);
}
const opts = parsed.values;
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const files = { ...readWranglerVars(join(ROOT, "wrangler.toml")), ...readDotenv(join(ROOT, ".dev.vars")) };
const setting = (name, option) => option ?? process.env[name] ?? files[name] ?? DEFAULTS[name];

const config = {
  baseUrl: setting("EFI_PIX_BASE_URL", opts["efi-url"]),
  publicUrl: setting("PUBLIC_BASE_URL", opts["public-url"]),
  pixKey: setting("EFI_PIX_KEY", opts["pix-key"]),
  clientId: setting("EFI_CLIENT_ID"),
  clientSecret: setting("EFI_CLIENT_SECRET"),
  hmacSecret: setting("EFI_WEBHOOK_HMAC_SECRET"),
  cert: setting("EFI_CERT_PEM", opts.cert),
};

const missing = [
  ["EFI_PIX_KEY", config.pixKey],
  ["EFI_CLIENT_ID", config.clientId],
  ["EFI_CLIENT_SECRET", config.clientSecret],
  ["EFI_WEBHOOK_HMAC_SECRET", config.hmacSecret],
]
  .filter(([, value]) => !value)
  .map(([name]) => name);
if (missing.length > 0)
  fail(`missing ${missing.join(", ")} (set them in .dev.vars or the environment)\n\n${USAGE}`);

let webhookUrl;
try {
  webhookUrl = efiWebhookUrl(config.publicUrl, config.hmacSecret);
} catch (error) {
  fail(`PUBLIC_BASE_URL ${JSON.stringify(config.publicUrl)}: ${error.message}`);
}
const efiIsReal = /\.efipay\.com\.br$|\.gerencianet\.com\.br$/.test(new URL(config.baseUrl).hostname);
if (efiIsReal && !webhookUrl.startsWith("https://"))
  fail("Efí accepts only HTTPS webhook URLs; set PUBLIC_BASE_URL");
if (efiIsReal && !config.cert)
  fail("the real Efí API Pix demands the client certificate: pass --cert or set EFI_CERT_PEM");

const shown = webhookUrl.replace(/hmac=[^&]*/, "hmac=***");
console.log(`[efi:webhook] Efí:      ${config.baseUrl}`);
console.log(`[efi:webhook] Pix key:  ${config.pixKey}`);
console.log(`[efi:webhook] webhook:  ${shown}`);
if (opts["dry-run"]) {
  console.log("[efi:webhook] --dry-run: nothing sent.");
  process.exit(0);
}

const client = createEfiClient({
  baseUrl: config.baseUrl,
  clientId: config.clientId,
  clientSecret: config.clientSecret,
  pixKey: config.pixKey,
  fetch: config.cert ? mtlsFetch(readFileSync(config.cert)) : (input, init) => fetch(input, init),
});

try {
  await client.registerWebhook(webhookUrl, { skipMtlsChecking: !opts["validate-mtls"] });
  console.log("[efi:webhook] registered: Efí will POST notifications to it (…&ignorar=/pix).");
} catch (error) {
  if (error instanceof EfiError) {
    const where = error.violations.map((v) => ` ${v.path}: ${v.message}`).join(";");
    if (error.status === 0) {
      const reason = error.cause?.cause?.code ?? error.cause?.cause?.message ?? error.detail;
      fail(`no answer from ${config.baseUrl} (${error.code}: ${reason}); is the Efí sandbox running?`);
    }
    fail(`Efí refused (${error.status} ${error.code}): ${error.detail}${where}`);
  }
  fail(
    error instanceof Error
      ? `${error.message}${error.cause ? ` (${error.cause.message ?? error.cause})` : ""}`
      : String(error),
  );
}
