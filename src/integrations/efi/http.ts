// The transport both Efí clients share (Pix and Cobranças): OAuth2 client credentials with the
// token cached per isolate, one re-authentication on a 401, a timeout on every request, and
// retries with exponential backoff and jitter for the calls the caller declares idempotent.
// Every byte goes through the injected `fetch`: in production the `mtls_certificates` binding's
// `fetch` (Efí demands the client certificate on every Pix request, `/oauth/token` included),
// in development and tests plain `fetch` against the emulator, or a scripted fake.

import type { z } from "zod";
import { EfiError, parseEfiError, parseEfiErrorText } from "./errors.ts";
import type { EfiToken } from "./types.ts";

/** What the client needs of `fetch`; the global one and `env.<mtls binding>.fetch` both fit. */
export type EfiFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Total tries of an idempotent call, the first included. */
  attempts: number;
  /** Backoff before retry n is drawn from [d/2, d] with d = baseDelayMs · 2^(n-1), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

/** A token is refreshed this long before Efí says it expires (at most half its lifetime). */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

/** Structured warnings (a retry, a re-authentication); the app's `Logger` fits. */
export interface EfiLogger {
  warn(msg: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}

export interface TransportOptions {
  /** Which API, so Pix and Cobranças tokens never mix (a Node SDK v1 bug, reference §10). */
  api: "pix" | "cobrancas";
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  fetch: EfiFetch;
  tokenPath: string;
  tokenSchema: z.ZodType<EfiToken>;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: EfiLogger;
}

export type HttpMethod = "GET" | "PUT" | "POST" | "PATCH" | "DELETE";

export interface EfiCall {
  method: HttpMethod;
  /** Path below the base URL, its variable segments already encoded. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether the call may be repeated: a read, or a PUT keyed by our own id (txid, idEnvio, refund
   * id), which Efí refuses to apply twice. Never true for a POST that creates something.
   */
  idempotent: boolean;
}

export interface EfiReply {
  status: number;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
  requestId: string | undefined;
  /**
   * True when an earlier try of this call failed without a definite answer (no reply, timeout,
   * 5xx, 429): Efí may have applied it, so a 409 "duplicate" now may well be our own first try.
   */
  afterUncertainTry: boolean;
}

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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function basicAuth(clientId: string, clientSecret: string): string {
  const bytes = new TextEncoder().encode(`${clientId}:${clientSecret}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

/** No answer arrived: the request may or may not have reached Efí. */
function noAnswer(error: unknown, timeoutMs: number): EfiError {
  return isTimeout(error)
    ? new EfiError({
        status: 0,
        kind: "unknown",
        code: "timeout",
        message: `no answer within ${timeoutMs} ms`,
        cause: error,
      })
    : new EfiError({
        status: 0,
        kind: "unknown",
        code: "network_error",
        message: error instanceof Error ? error.message : "request failed",
        cause: error,
      });
}

/**
 * Calls the injected fetch as a plain function. Called as `options.fetch(...)` its `this` would
 * be the options object, and workerd's global `fetch` throws "Illegal invocation" on that.
 */
function invoke(fetchFn: EfiFetch, url: string, init: RequestInit): Promise<Response> {
  return fetchFn(url, init);
}

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  return header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}

export class EfiTransport {
  private readonly options: TransportOptions;
  private readonly baseUrl: string;
  private readonly cacheKey: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** One token request at a time for this instance (instances live for one request). */
  private pendingToken: Promise<string> | undefined;

  constructor(options: TransportOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.cacheKey = `${options.api} ${this.baseUrl} ${options.clientId}`;
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    this.retry = { ...retry, attempts: Math.max(1, Math.floor(retry.attempts)) };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * Sends a call and returns Efí's final answer, whatever its status. Idempotent calls are tried
   * again after no answer, a timeout, a 5xx or a 429, up to `retry.attempts` tries; any other call
   * is sent once. A 401 re-authenticates once and repeats the call once (Efí did not apply it).
   * Throws `EfiError` (status 0) when the last try got no answer, and whatever getting a token threw.
   */
  async send(call: EfiCall): Promise<EfiReply> {
    const maxTries = call.idempotent ? this.retry.attempts : 1;
    let tries = 0;
    let reauthenticated = false;
    /** The failure of the last try that may have been applied (no answer, 5xx, 429). */
    let uncertain: EfiError | undefined;
    for (;;) {
      tries += 1;
      let token: string;
      try {
        token = await this.token();
      } catch (error) {
        // An earlier try may have been applied: say so, rather than the token's own failure.
        throw uncertain ?? error;
      }
      let response: Response;
      let text: string;
      const signal = AbortSignal.timeout(this.timeoutMs);
      try {
        response = await invoke(this.options.fetch, `${this.baseUrl}${call.path}`, {
          method: call.method,
          headers: {
            accept: "application/json",
            authorization: `Bearer ${token}`,
            ...(call.body === undefined ? {} : { "content-type": "application/json" }),
            ...call.headers,
          },
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
          signal,
        });
        text = await response.text();
      } catch (error) {
        const failure = noAnswer(error, this.timeoutMs);
        if (tries >= maxTries) throw failure;
        uncertain = failure;
        await this.backoff(call, tries, failure.code);
        continue;
      }

      if (response.status === 401 && !reauthenticated) {
        reauthenticated = true;
        tries -= 1; // Efí refused the token, not the call: the repeat does not count as a retry.
        this.forget(token);
        this.options.log?.warn("efi.reauthenticate", { api: this.options.api, method: call.method });
        continue;
      }

      const transient = response.status === 429 || response.status >= 500;
      if (transient && tries < maxTries) {
        uncertain = parseEfiErrorText(
          response.status,
          text,
          response.headers.get("x-request-id") ?? undefined,
        );
        await this.backoff(call, tries, `http_${response.status}`, retryAfterMs(response));
        continue;
      }

      return {
        status: response.status,
        body: parseJson(text),
        requestId: response.headers.get("x-request-id") ?? undefined,
        afterUncertainTry: uncertain !== undefined,
      };
    }
  }

  /** The reply's body parsed by `schema` when its status is one of `ok`, else Efí's error. */
  expect<T>(reply: EfiReply, ok: readonly number[], schema: z.ZodType<T>): T {
    if (!ok.includes(reply.status)) throw parseEfiError(reply.status, reply.body, reply.requestId);
    const parsed = schema.safeParse(reply.body);
    if (!parsed.success) {
      throw new EfiError({
        status: reply.status,
        kind: "unknown",
        code: "invalid_response",
        message: `unexpected reply: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".") || "(body)"} ${i.message}`)
          .join("; ")}`,
        requestId: reply.requestId,
      });
    }
    return parsed.data;
  }

  /** `send` + `expect`. */
  async call<T>(call: EfiCall, ok: readonly number[], schema: z.ZodType<T>): Promise<T> {
    return this.expect(await this.send(call), ok, schema);
  }

  private async backoff(call: EfiCall, tries: number, reason: string, retryAfter?: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (tries - 1));
    const jittered = ceiling / 2 + (this.random() * ceiling) / 2;
    const delayMs = Math.round(Math.min(maxDelayMs, Math.max(jittered, retryAfter ?? 0)));
    this.options.log?.warn("efi.retry", {
      api: this.options.api,
      method: call.method,
      try: tries,
      reason,
      delay_ms: delayMs,
    });
    await this.sleep(delayMs);
  }

  private async token(): Promise<string> {
    const cached = tokenCache.get(this.cacheKey);
    if (cached && this.now().getTime() < cached.refreshAtMs) return cached.accessToken;
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private forget(token: string): void {
    if (tokenCache.get(this.cacheKey)?.accessToken === token) tokenCache.delete(this.cacheKey);
  }

  /** `POST` of the client credentials. Never retried: a failure here fails the call. */
  private async fetchToken(): Promise<string> {
    const { clientId, clientSecret, tokenPath, tokenSchema } = this.options;
    const startedAt = this.now().getTime();
    let response: Response;
    let text: string;
    try {
      response = await invoke(this.options.fetch, `${this.baseUrl}${tokenPath}`, {
        method: "POST",
        headers: {
          accept: "application/json",
          authorization: basicAuth(clientId, clientSecret),
          "content-type": "application/json",
        },
        body: JSON.stringify({ grant_type: "client_credentials" }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw noAnswer(error, this.timeoutMs);
    }
    const requestId = response.headers.get("x-request-id") ?? undefined;
    if (response.status !== 200 && response.status !== 201) {
      throw parseEfiErrorText(response.status, text, requestId);
    }
    const token = this.expect(
      { status: 200, body: parseJson(text), requestId, afterUncertainTry: false },
      [200],
      tokenSchema,
    );
    const lifetimeMs = token.expiresInSeconds * 1000;
    const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
    tokenCache.set(this.cacheKey, {
      accessToken: token.accessToken,
      refreshAtMs: startedAt + lifetimeMs - margin,
    });
    return token.accessToken;
  }
}
