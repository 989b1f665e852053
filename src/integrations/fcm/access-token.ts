// OAuth 2.0 access tokens for FCM, from the service account's own signed JWT (Google's
// server-to-server flow): the JWT's claims are `iss` (the service account's client_email),
// `scope`, `aud` (the token endpoint), `iat` and `exp` (at most an hour after `iat`), signed
// RS256 with the account's private key; it is POSTed form-encoded as
// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>` and answered with
// `{ access_token, expires_in, token_type: "Bearer" }`.

import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** A token is replaced this long before it expires (or at half its lifetime, if that is sooner). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

export type FcmFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ServiceAccount {
  clientEmail: string;
  /** PKCS#8 PEM; literal `\n` sequences (as env files often carry it) are turned into newlines. */
  privateKey: string;
  oauthUrl: string;
}

export class FcmAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FcmAuthError";
  }
}

const TokenReply = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() });

interface CachedToken {
  accessToken: string;
  refreshAtMs: number;
}

/** Per isolate, keyed by token endpoint and account. Plain data only is shared between requests. */
const cache = new Map<string, CachedToken>();

export function clearFcmTokenCache(): void {
  cache.clear();
}

const keyOf = (account: ServiceAccount) => `${account.oauthUrl}|${account.clientEmail}`;

/** Drops a token the send endpoint refused, unless another request already replaced it. */
export function forgetAccessToken(account: ServiceAccount, token: string): void {
  if (cache.get(keyOf(account))?.accessToken === token) cache.delete(keyOf(account));
}

/** The signed assertion: RS256, an hour at most (Google's upper bound). */
export async function serviceAccountJwt(account: ServiceAccount, now: Date): Promise<string> {
  const pem = account.privateKey.replace(/\\n/g, "\n");
  let key: CryptoKey;
  try {
    key = await importPKCS8(pem, "RS256");
  } catch {
    throw new FcmAuthError("FCM_PRIVATE_KEY is not a PKCS#8 RSA private key");
  }
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(account.clientEmail)
    .setAudience(account.oauthUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key);
}

/** A cached access token, or a new one from the token endpoint. Throws FcmAuthError on failure. */
export async function accessToken(
  account: ServiceAccount,
  fetchFn: FcmFetch,
  now: () => Date,
  timeoutMs: number,
): Promise<string> {
  const cached = cache.get(keyOf(account));
  if (cached && now().getTime() < cached.refreshAtMs) return cached.accessToken;
  const assertion = await serviceAccountJwt(account, now());
  let response: Response;
  try {
    response = await fetchFn(account.oauthUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new FcmAuthError(
      `token endpoint did not answer: ${error instanceof Error ? error.message : error}`,
    );
  }
  const text = await response.text();
  if (response.status !== 200) {
    throw new FcmAuthError(`token endpoint answered ${response.status}: ${text.slice(0, 200)}`);
  }
  let parsed: z.infer<typeof TokenReply>;
  try {
    parsed = TokenReply.parse(JSON.parse(text));
  } catch {
    throw new FcmAuthError("token endpoint answered an unexpected body");
  }
  const lifetimeMs = parsed.expires_in * 1000;
  const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
  cache.set(keyOf(account), {
    accessToken: parsed.access_token,
    refreshAtMs: now().getTime() + lifetimeMs - margin,
  });
  return parsed.access_token;
}
