// Efí's OAuth2 client-credentials tokens, cached per isolate and shared by every transport of the
// same API, base URL and client id.

import type { z } from "zod";
import { parseEfiErrorText } from "./errors.ts";
import type { EfiToken } from "./types.ts";
import { type EfiFetch, expectReply, invoke, noAnswer, parseJson } from "./wire.ts";

/** A token is refreshed this long before Efí says it expires (at most half its lifetime). */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is not used any more (Efí's expiry minus the margin). */
  refreshAtMs: number;
}

/**
 * Tokens per isolate, keyed by (API, base URL, client id). Only plain data is shared between
 * requests: a promise created in one request must not be awaited by another in workerd.
 */
const tokenCache = new Map<string, CachedToken>();

/** Forgets every cached token (tests). */
export function clearEfiTokenCache(): void {
  tokenCache.clear();
}

export function cachedToken(cacheKey: string, nowMs: number): string | undefined {
  const cached = tokenCache.get(cacheKey);
  return cached && nowMs < cached.refreshAtMs ? cached.accessToken : undefined;
}

/** Drops `token` from the cache unless another request has already replaced it. */
export function forgetToken(cacheKey: string, token: string): void {
  if (tokenCache.get(cacheKey)?.accessToken === token) tokenCache.delete(cacheKey);
}

export interface TokenRequest {
  cacheKey: string;
  url: string;
  clientId: string;
  clientSecret: string;
  fetch: EfiFetch;
  tokenSchema: z.ZodType<EfiToken>;
  timeoutMs: number;
  now: () => Date;
}

/** `POST` of the client credentials, cached on success. Never retried: a failure fails the call. */
export async function fetchToken(request: TokenRequest): Promise<string> {
  const { clientId, clientSecret, timeoutMs } = request;
  const startedAt = request.now().getTime();
  let response: Response;
  let text: string;
  try {
    response = await invoke(request.fetch, request.url, {
      method: "POST",
      headers: {
        accept: "application/json",
        authorization: basicAuth(clientId, clientSecret),
        "content-type": "application/json",
      },
      body: JSON.stringify({ grant_type: "client_credentials" }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw noAnswer(error, timeoutMs);
  }
  const requestId = response.headers.get("x-request-id") ?? undefined;
  if (response.status !== 200 && response.status !== 201) {
    throw parseEfiErrorText(response.status, text, requestId);
  }
  const token = expectReply(
    { status: 200, body: parseJson(text), requestId, afterUncertainTry: false },
    [200],
    request.tokenSchema,
  );
  const lifetimeMs = token.expiresInSeconds * 1000;
  const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
  tokenCache.set(request.cacheKey, {
    accessToken: token.accessToken,
    refreshAtMs: startedAt + lifetimeMs - margin,
  });
  return token.accessToken;
}

function basicAuth(clientId: string, clientSecret: string): string {
  const bytes = new TextEncoder().encode(`${clientId}:${clientSecret}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}
