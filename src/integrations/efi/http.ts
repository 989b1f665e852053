// The transport both Efí clients share (Pix and Cobranças): OAuth2 client credentials with the
// token cached per isolate, one re-authentication on a 401, a timeout on every request, and
// retries with exponential backoff and jitter for the calls the caller declares idempotent.
// Every byte goes through the injected `fetch`: in production the `mtls_certificates` binding's
// `fetch` (Efí demands the client certificate on every Pix request, `/oauth/token` included),
// in development and tests plain `fetch` against the emulator, or a scripted fake.

import type { z } from "zod";
import { type EfiError, parseEfiErrorText } from "./errors.ts";
import { cachedToken, fetchToken, forgetToken } from "./token.ts";
import type { EfiToken } from "./types.ts";
import {
  type EfiFetch,
  type EfiReply,
  expectReply,
  invoke,
  noAnswer,
  parseJson,
  retryAfterMs,
} from "./wire.ts";

export interface RetryPolicy {
  /** Total tries of an idempotent call, the first included. */
  attempts: number;
  /** Backoff before retry n is drawn from [d/2, d] with d = baseDelayMs · 2^(n-1), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Structured warnings (a retry, a re-authentication); the app's `Logger` fits. */
export interface EfiLogger {
  warn(msg: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}

export interface TransportOptions {
  /** Which API, so Pix and Cobranças tokens never mix (Efí's Node SDK v1 mixed them up). */
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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
    return expectReply(reply, ok, schema);
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
    const cached = cachedToken(this.cacheKey, this.now().getTime());
    if (cached) return cached;
    this.pendingToken ??= fetchToken({
      cacheKey: this.cacheKey,
      url: `${this.baseUrl}${this.options.tokenPath}`,
      clientId: this.options.clientId,
      clientSecret: this.options.clientSecret,
      fetch: this.options.fetch,
      tokenSchema: this.options.tokenSchema,
      timeoutMs: this.timeoutMs,
      now: this.now,
    }).finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private forget(token: string): void {
    forgetToken(this.cacheKey, token);
  }
}
