#!/usr/bin/env node
// `npm run smoke -- --url <base>`: the few things a deployment must do, against a running API:
// /health, sign in the smoke account, quote a ride, open a socket (ticket flow) and read
// /openapi.json. Exits non-zero naming the first step that failed, so CI and the rollout can gate
// on it. Against a local `npm run dev` it signs in the demo seed's passenger; elsewhere it needs
// SMOKE_EMAIL and SMOKE_PASSWORD (a passenger kept for this, never a real person's account).
// Never prints a token.

const args = process.argv.slice(2);
const urlArg = args[args.indexOf("--url") + 1];
if (!args.includes("--url") || !urlArg) {
  console.error("usage: npm run smoke -- --url <base url, e.g. https://api.staging.example>");
  process.exit(2);
}
const base = new URL(urlArg);
const local = ["127.0.0.1", "localhost", "[::1]"].includes(base.hostname);
const email = process.env.SMOKE_EMAIL ?? (local ? "passenger@demo.local" : undefined);
const password = process.env.SMOKE_PASSWORD ?? (local ? "demo-password-1" : undefined);
if (!email || !password) {
  console.error("smoke: set SMOKE_EMAIL and SMOKE_PASSWORD for a non-local URL");
  process.exit(2);
}

const STEP_TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS ?? 10_000);
// Central São Paulo: Praça da Sé to Avenida Paulista, inside the seeded service area.
const PICKUP = { lat: -23.5503, lng: -46.6339 };
const DROPOFF = { lat: -23.5614, lng: -46.6559 };

async function request(method, path, { token, body } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, requestId: response.headers.get("x-request-id") };
}

function expectStatus(reply, status, what) {
  if (reply.status !== status) {
    const code = reply.json?.code ? ` ${reply.json.code}` : "";
    throw new Error(
      `${what}: expected ${status}, got ${reply.status}${code} (request id ${reply.requestId})`,
    );
  }
}

/** Opens the user's socket with a single-use ticket and waits for it to open. */
function openSocket(ticket) {
  const wsUrl = new URL(`/v1/ws?ticket=${encodeURIComponent(ticket)}`, base);
  wsUrl.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("socket did not open in time"));
    }, STEP_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      socket.close(1000, "smoke done");
      resolve();
    });
    socket.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error("socket refused or failed"));
    });
  });
}

const state = {};
const steps = [
  [
    "health",
    async () => {
      const reply = await request("GET", "/health");
      expectStatus(reply, 200, "GET /health");
      if (reply.json?.status !== "ok") throw new Error(`GET /health: status ${reply.json?.status}`);
    },
  ],
  [
    "sign in",
    async () => {
      const reply = await request("POST", "/v1/auth/login", { body: { email, password } });
      expectStatus(reply, 200, "POST /v1/auth/login");
      state.token = reply.json?.access_token;
      if (!state.token) throw new Error("POST /v1/auth/login: no access token");
    },
  ],
  [
    "quote",
    async () => {
      const reply = await request("POST", "/v1/rides/quote", {
        token: state.token,
        body: { pickup: PICKUP, dropoff: DROPOFF, category: "pop" },
      });
      expectStatus(reply, 200, "POST /v1/rides/quote");
      if (!Number.isInteger(reply.json?.estimated_fare_cents)) {
        throw new Error("POST /v1/rides/quote: no fare in centavos");
      }
    },
  ],
  [
    "socket",
    async () => {
      const reply = await request("POST", "/v1/ws/ticket", { token: state.token });
      expectStatus(reply, 201, "POST /v1/ws/ticket");
      await openSocket(reply.json.ticket);
    },
  ],
  [
    "openapi",
    async () => {
      const reply = await request("GET", "/openapi.json");
      expectStatus(reply, 200, "GET /openapi.json");
      if (!reply.json?.openapi?.startsWith("3.1"))
        throw new Error("GET /openapi.json: not an OpenAPI 3.1 document");
    },
  ],
];

const started = Date.now();
for (const [name, run] of steps) {
  const t0 = Date.now();
  try {
    await run();
    console.log(`smoke: ${name} ok (${Date.now() - t0} ms)`);
  } catch (error) {
    console.error(`smoke: ${name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
console.log(`smoke: ${base.origin} passed in ${Date.now() - started} ms`);
