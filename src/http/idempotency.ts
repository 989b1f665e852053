import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from "../services/requests/idempotency";
import type { AppEnv } from "./env";

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` for POSTs that create something or move money. Put it after `requireAuth`:
 * keys are scoped to the caller. Only a 2xx reply is stored and replayed; any other outcome frees
 * the key, because our failures change nothing and so a retry must be allowed to run again.
 */
export const idempotent: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (!key || !KEY_PATTERN.test(key)) {
    throw new ApiError(
      "idempotency_key_required",
      "Send an Idempotency-Key header of 1 to 255 visible characters",
    );
  }
  const ctx = c.get("ctx");
  const userId = c.get("user").id;
  // jsonBodyGuard already checked the body is JSON; Hono hands back its raw text, so it is
  // re-serialised here to make the hash ignore insignificant whitespace.
  const body = c.req.raw.body === null ? "" : canonicalJson(await c.req.text());
  const requestHash = await sha256Hex(`${c.req.method} ${c.req.path}\n${body}`);
  const claim = await claimIdempotencyKey(ctx, userId, key, requestHash);
  if (claim.kind === "replay") {
    return new Response(claim.body, {
      status: claim.status,
      headers: { "content-type": "application/json", "idempotent-replayed": "true" },
    });
  }
  try {
    await next();
  } catch (error) {
    await releaseIdempotencyKey(ctx, userId, key);
    throw error;
  }
  if (c.res.status >= 200 && c.res.status < 300) {
    await completeIdempotencyKey(ctx, userId, key, c.res.status, await c.res.clone().text());
  } else {
    await releaseIdempotencyKey(ctx, userId, key);
  }
};

function canonicalJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text; // empty or not JSON: hash it as it came
  }
}
