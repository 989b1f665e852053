// One request to Efí on the wire and what comes back: calling the injected `fetch`, telling "no
// answer" apart from an answer, and parsing a reply's body with a schema into our own shapes.

import type { z } from "zod";
import { EfiError, parseEfiError } from "./errors.ts";

/** What the client needs of `fetch`; the global one and `env.<mtls binding>.fetch` both fit. */
export type EfiFetch = (input: string, init: RequestInit) => Promise<Response>;

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

export function parseJson(text: string): unknown {
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
export function noAnswer(error: unknown, timeoutMs: number): EfiError {
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
export function invoke(fetchFn: EfiFetch, url: string, init: RequestInit): Promise<Response> {
  return fetchFn(url, init);
}

export function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  return header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}

/** The reply's body parsed by `schema` when its status is one of `ok`, else Efí's error. */
export function expectReply<T>(reply: EfiReply, ok: readonly number[], schema: z.ZodType<T>): T {
  if (!ok.includes(reply.status)) {
    throw parseEfiError(reply.status, reply.body, reply.requestId, reply.afterUncertainTry);
  }
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
