import { Hono, type MiddlewareHandler } from "hono";
import type { Deps, SandboxEnv } from "./context";
import { cobrancas, insufficientScope, oauth, readJson } from "./errors";
import { newAccessToken } from "./ids";
import { findToken, insertToken, type TokenRow } from "./store";

/**
 * OAuth2 client credentials as Efí serves them: `POST /oauth/token` on the Pix host (1 hour, the
 * granted scopes as a space-separated string) and `POST /v1/authorize` on the Cobranças host
 * (10 minutes). Tokens live in D1, so `POST /sandbox/tokens/expire` can end them early.
 */

const PIX_TTL_SECONDS = 3600;
const COBRANCAS_TTL_SECONDS = 600;

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

async function issue(deps: Deps, api: TokenRow["api"], scopes: string[], ttl: number) {
  const now = deps.now();
  const exp = new Date(now.getTime() + ttl * 1000);
  const token = newAccessToken({
    sub: deps.clientId,
    aud: api,
    scope: scopes.join(" "),
    iat: Math.floor(now.getTime() / 1000),
    exp: Math.floor(exp.getTime() / 1000),
  });
  await insertToken(deps.db, {
    token,
    api,
    client_id: deps.clientId,
    scopes: scopes.join(" "),
    issued_at: now.toISOString(),
    expires_at: exp.toISOString(),
  });
  return { token, exp };
}

export const authRoutes = new Hono<SandboxEnv>();

authRoutes.post("/oauth/token", async (c) => {
  const deps = c.get("deps");
  const credentials = basicCredentials(c.req.header("authorization"));
  if (!credentials || credentials.id !== deps.clientId || credentials.secret !== deps.clientSecret) {
    throw oauth(401, "invalid_client", "Invalid or inactive credentials");
  }
  const body = (await readJson(c)) as { grant_type?: unknown };
  if (body?.grant_type !== "client_credentials") {
    throw oauth(400, "unsupported_grant_type", 'grant_type must be "client_credentials"');
  }
  const { token } = await issue(deps, "pix", deps.scopes, PIX_TTL_SECONDS);
  return c.json({
    access_token: token,
    token_type: "Bearer",
    expires_in: PIX_TTL_SECONDS,
    scope: deps.scopes.join(" "),
  });
});

authRoutes.post("/v1/authorize", async (c) => {
  const deps = c.get("deps");
  const credentials = basicCredentials(c.req.header("authorization"));
  if (!credentials || credentials.id !== deps.clientId || credentials.secret !== deps.clientSecret) {
    throw cobrancas(401, 3500034, "invalid_client", "Credenciais inválidas ou inativas");
  }
  const body = (await readJson(c)) as { grant_type?: unknown };
  if (body?.grant_type !== "client_credentials") {
    throw cobrancas(400, 3500034, "unsupported_grant_type", 'grant_type deve ser "client_credentials"');
  }
  const { token, exp } = await issue(deps, "cobrancas", [], COBRANCAS_TTL_SECONDS);
  return c.json({
    access_token: token,
    refresh_token: newAccessToken({ sub: deps.clientId, typ: "refresh" }),
    expires_in: COBRANCAS_TTL_SECONDS,
    expire_at: String(exp.getTime()),
    token_type: "Bearer",
  });
});

async function bearer(deps: Deps, header: string | undefined, api: TokenRow["api"]) {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return { problem: "missing" as const };
  const row = await findToken(deps.db, match[1]);
  if (!row || row.api !== api) return { problem: "invalid" as const };
  if (Date.parse(row.expires_at) <= deps.now().getTime()) return { problem: "expired" as const };
  return { problem: null, row };
}

/**
 * Pix routes: a valid, unexpired Pix token carrying the route's scope. No token, an unknown one,
 * or a Cobranças token: 401; expired: 401; missing scope: 403 insufficient_scope.
 */
export function requireScope(scope: string): MiddlewareHandler<SandboxEnv> {
  return async (c, next) => {
    const result = await bearer(c.get("deps"), c.req.header("authorization"), "pix");
    if (result.problem === "missing") throw oauth(401, "invalid_token", "Access token is missing");
    if (result.problem === "invalid") throw oauth(401, "invalid_token", "Access token is invalid");
    if (result.problem === "expired") throw oauth(401, "invalid_token", "Access token has expired");
    if (!result.row.scopes.split(" ").includes(scope)) throw insufficientScope();
    c.set("clientId", result.row.client_id);
    await next();
  };
}

/** Cobranças routes: a valid, unexpired token from `/v1/authorize`. */
export const requireCobrancasToken: MiddlewareHandler<SandboxEnv> = async (c, next) => {
  const result = await bearer(c.get("deps"), c.req.header("authorization"), "cobrancas");
  if (result.problem) {
    const detail = result.problem === "expired" ? "Token de acesso expirado" : "Token de acesso inválido";
    throw cobrancas(401, 3500034, "invalid_token", detail);
  }
  await next();
};
