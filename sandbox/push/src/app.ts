// A local emulator of Firebase Cloud Messaging HTTP v1 and of Google's OAuth token endpoint, for
// `npm run dev` (a Worker on 8789) and the platform's tests (in process). State is in memory:
// one emulator, one list of messages.
//
// Wire format, as FCM and Google's token endpoint speak it:
// - `POST /token`, form-encoded `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
//   `assertion=<JWT>`: the JWT is RS256, signed by the service account's private key, with
//   `iss` (client_email), `scope`, `aud` (this endpoint), `iat` and `exp` (at most an hour
//   later). Answer `{ access_token, expires_in, token_type: "Bearer" }`; a refusal is 400
//   `{ error: "invalid_grant", error_description }`.
// - `POST /v1/projects/{project}/messages:send`, `Authorization: Bearer <access token>`, body
//   `{ message: { token, notification?: { title, body }, data?: { string: string }, android?,
//   apns? } }`. Answer `{ name: "projects/{project}/messages/{n}" }`; errors are
//   `{ error: { code, message, status, details: [{ "@type":
//   "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] } }`.
//
// Test hooks: a registration token starting with `dead-` is answered 404 `UNREGISTERED`;
// `POST /sandbox/push/fail-next {"count": n}` makes the next n sends answer 500 `INTERNAL`.

import { importSPKI, type JWTPayload, jwtVerify } from "jose";
import { pushPage } from "./page";

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

export interface PushEmulatorOptions {
  /** The service account's public key: SPKI PEM (`\n` escapes accepted) or a CryptoKey. */
  publicKey: string | CryptoKey;
  /** When set, the only project and service account it accepts. */
  projectId?: string;
  clientEmail?: string;
  now?: () => Date;
  tokenTtlSeconds?: number;
}

export interface RecordedMessage {
  name: string;
  project: string;
  token: string;
  message: Record<string, unknown>;
  received_at: string;
}

export interface PushEmulator {
  fetch(request: Request): Promise<Response>;
  /** Every accepted message, oldest first; with a token, only that token's. */
  messages(token?: string): RecordedMessage[];
  /** Every JWT assertion's claims the token endpoint accepted. */
  assertions(): JWTPayload[];
  failNext(count: number): void;
  reset(): void;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

function fcmError(code: number, status: string, message: string, errorCode?: string) {
  return json(
    {
      error: {
        code,
        message,
        status,
        ...(errorCode
          ? { details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] }
          : {}),
      },
    },
    code,
  );
}

const grantError = (description: string) =>
  json({ error: "invalid_grant", error_description: description }, 400);

export function createPushEmulator(options: PushEmulatorOptions): PushEmulator {
  const now = options.now ?? (() => new Date());
  const ttl = options.tokenTtlSeconds ?? 3600;
  let keyPromise: Promise<CryptoKey> | null = null;
  const key = () => {
    if (typeof options.publicKey !== "string") return Promise.resolve(options.publicKey);
    keyPromise ??= importSPKI(options.publicKey.replace(/\\n/g, "\n"), "RS256");
    return keyPromise;
  };
  const tokens = new Map<string, number>();
  let recorded: RecordedMessage[] = [];
  let accepted: JWTPayload[] = [];
  let failures = 0;
  let counter = 0;

  const list = (token?: string) =>
    token === undefined ? [...recorded] : recorded.filter((m) => m.token === token);

  async function token(request: Request): Promise<Response> {
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
    if (form.get("grant_type") !== JWT_BEARER_GRANT) {
      return json(
        { error: "unsupported_grant_type", error_description: "expected the JWT bearer grant" },
        400,
      );
    }
    const assertion = form.get("assertion");
    if (!assertion) return grantError("missing assertion");
    const audience = new URL(request.url);
    audience.search = "";
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(assertion, await key(), {
        algorithms: ["RS256"],
        audience: audience.toString(),
        currentDate: now(),
        requiredClaims: ["iss", "iat", "exp", "scope"],
      });
      claims = verified.payload;
    } catch (error) {
      return grantError(`invalid JWT: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (options.clientEmail && claims.iss !== options.clientEmail)
      return grantError("unknown service account");
    if ((claims.exp ?? 0) - (claims.iat ?? 0) > 3600) return grantError("JWT lifetime over one hour");
    const scopes = String(claims.scope).split(" ");
    if (!scopes.includes(FCM_SCOPE)) return grantError("scope does not include firebase.messaging");
    accepted.push(claims);
    const accessToken = `emu.${crypto.randomUUID()}`;
    tokens.set(accessToken, now().getTime() + ttl * 1000);
    return json({ access_token: accessToken, expires_in: ttl, token_type: "Bearer" });
  }

  async function send(request: Request, project: string): Promise<Response> {
    const bearer = request.headers.get("authorization")?.match(/^Bearer (.+)$/)?.[1];
    const expires = bearer ? tokens.get(bearer) : undefined;
    if (!expires || expires <= now().getTime()) {
      return fcmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    if (options.projectId && project !== options.projectId) {
      return fcmError(
        403,
        "PERMISSION_DENIED",
        "The caller may not send for this project.",
        "SENDER_ID_MISMATCH",
      );
    }
    let body: { message?: Record<string, unknown> };
    try {
      body = (await request.json()) as typeof body;
    } catch {
      return fcmError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    }
    const message = body?.message;
    const problem = invalidMessage(message);
    if (problem || !message)
      return fcmError(400, "INVALID_ARGUMENT", problem ?? "missing message", "INVALID_ARGUMENT");
    if (failures > 0) {
      failures -= 1;
      return fcmError(500, "INTERNAL", "Internal error encountered.", "INTERNAL");
    }
    const target = String(message.token);
    if (target.startsWith("dead-")) {
      return fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED");
    }
    counter += 1;
    const name = `projects/${project}/messages/${counter}`;
    recorded.push({ name, project, token: target, message, received_at: now().toISOString() });
    return json({ name });
  }

  return {
    async fetch(request) {
      const url = new URL(request.url);
      const path = url.pathname;
      if (request.method === "POST" && path === "/token") return token(request);
      const sendPath = path.match(/^\/v1\/projects\/([^/]+)\/messages:send$/);
      if (request.method === "POST" && sendPath?.[1]) return send(request, decodeURIComponent(sendPath[1]));
      if (request.method === "GET" && path === "/sandbox/push/messages") {
        const filter = url.searchParams.get("token") ?? undefined;
        return json({ messages: list(filter) });
      }
      if (request.method === "DELETE" && path === "/sandbox/push/messages") {
        recorded = [];
        return json({ cleared: true });
      }
      if (request.method === "POST" && path === "/sandbox/push/fail-next") {
        const body = (await request.json().catch(() => ({}))) as { count?: unknown };
        const count = Number(body.count ?? 1);
        if (!Number.isInteger(count) || count < 0 || count > 1000)
          return json({ error: "count must be 0–1000" }, 400);
        failures = count;
        return json({ fail_next: failures });
      }
      if (request.method === "GET" && (path === "/sandbox/push" || path === "/")) {
        return new Response(pushPage(recorded, failures), {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
      return json(
        { error: { code: 404, status: "NOT_FOUND", message: `no route ${request.method} ${path}` } },
        404,
      );
    },
    messages: (token) => list(token),
    assertions() {
      return [...accepted];
    },
    failNext(count) {
      failures = count;
    },
    reset() {
      recorded = [];
      accepted = [];
      failures = 0;
      tokens.clear();
    },
  };
}

/** What FCM would refuse with 400 INVALID_ARGUMENT, or null. */
function invalidMessage(message: unknown): string | null {
  if (!message || typeof message !== "object") return "message is required";
  const m = message as Record<string, unknown>;
  if (typeof m.token !== "string" || m.token.length === 0) return "message.token is required";
  if (m.notification !== undefined) {
    const n = m.notification as Record<string, unknown>;
    if (typeof n !== "object" || n === null) return "message.notification must be an object";
    for (const field of ["title", "body"]) {
      if (n[field] !== undefined && typeof n[field] !== "string")
        return `message.notification.${field} must be a string`;
    }
  }
  if (m.data !== undefined) {
    if (typeof m.data !== "object" || m.data === null) return "message.data must be a map";
    for (const [k, v] of Object.entries(m.data as Record<string, unknown>)) {
      if (typeof v !== "string") return `Invalid value at 'message.data[${k}].value' (TYPE_STRING)`;
    }
  }
  return null;
}
