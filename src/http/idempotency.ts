import type { Context, MiddlewareHandler } from "hono";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import {
  type Claim,
  claimIdempotencyKey,
  completeIdempotencyKey,
  hasMovedMoney,
  IDEMPOTENCY_RENEW_SECONDS,
  type KeyRef,
  PendingClaim,
  releaseIdempotencyKey,
  renewIdempotencyClaim,
} from "../services/requests/idempotency";
import type { AppEnv } from "./env";

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` for POSTs that create something or move money. Put it after `requireAuth`:
 * keys are scoped to the caller. A 2xx reply is stored and replayed, and so is any reply of a
 * request that moved money (`noteMoneyMoved`): running it again could move it twice. Any other
 * outcome frees the key, because our failures change nothing and a retry must run again.
 * While the handler runs, its claim is renewed, so a slow provider never lets a retry in.
 */
export const idempotent: MiddlewareHandler<AppEnv> = async (c, next) => {
  const claim = new PendingClaim(await keyRefOf(c));
  const ctx = c.get("ctx");
  claim.outcome = await claimIdempotencyKey(ctx, claim.ref);
  if (claim.outcome.kind === "replay") return replayResponse(claim.outcome);
  await runClaimed(c, next, claim);
};

/**
 * Like `idempotent`, for a route that claims the key in its own first D1 batch: the pending
 * claim is `c.get("idempotency")`; the handler answers a replay with `replayResponse`.
 */
export const idempotentInBatch: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("idempotency", new PendingClaim(await keyRefOf(c)));
  await runClaimed(c, next, c.get("idempotency"));
};

/** The stored first reply, marked as a replay. */
export function replayResponse(claim: Extract<Claim, { kind: "replay" }>): Response {
  return new Response(claim.body, {
    status: claim.status,
    headers: { "content-type": "application/json", "idempotent-replayed": "true" },
  });
}

async function keyRefOf(c: Context<AppEnv>): Promise<KeyRef> {
  const key = c.req.header("idempotency-key");
  if (!key || !KEY_PATTERN.test(key)) {
    throw new ApiError(
      "idempotency_key_required",
      "Send an Idempotency-Key header of 1 to 255 visible characters",
    );
  }
  // jsonBodyGuard already checked the body is JSON; Hono hands back its raw text, so it is
  // re-serialised here to make the hash ignore insignificant whitespace.
  const body = c.req.raw.body === null ? "" : canonicalJson(await c.req.text());
  const requestHash = await sha256Hex(`${c.req.method} ${c.req.path}\n${body}`);
  return { userId: c.get("user").id, key, requestHash };
}

async function runClaimed(c: Context<AppEnv>, next: () => Promise<void>, claim: PendingClaim) {
  const ctx = c.get("ctx");
  const claimed = () => claim.outcome?.kind === "claimed";
  const renewal = setInterval(() => {
    if (!claimed()) return;
    renewIdempotencyClaim(ctx, claim.ref).catch((error) =>
      ctx.log.warn("idempotency.renew_failed", { error: String(error) }),
    );
  }, IDEMPOTENCY_RENEW_SECONDS * 1000);
  try {
    await next();
  } catch (error) {
    if (claimed() && !hasMovedMoney(ctx)) await releaseIdempotencyKey(ctx, claim.ref);
    throw error;
  } finally {
    clearInterval(renewal);
  }
  // Not claimed: the claim itself refused (409, 422), or the handler failed before claiming.
  if (!claimed()) return;
  const status = c.res.status;
  if ((status < 200 || status >= 300) && !hasMovedMoney(ctx)) {
    await releaseIdempotencyKey(ctx, claim.ref);
    return;
  }
  const body = await c.res.clone().text();
  if (claim.stored?.status === status && claim.stored.body === body) return; // stored in the route's batch
  await completeIdempotencyKey(ctx, claim.ref, status, body);
}

function canonicalJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text; // empty or not JSON: hash it as it came
  }
}
