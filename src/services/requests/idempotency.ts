import { and, eq, sql } from "drizzle-orm";
import { idempotencyKeys } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/**
 * A claim older than this while still in progress is taken to be abandoned (its isolate died
 * between claim and completion) and may be taken over by a retry of the same request.
 */
export const IDEMPOTENCY_LOCK_SECONDS = 60;

export type Claim = { kind: "claimed" } | { kind: "replay"; status: number; body: string };

/**
 * Claims `key` for this caller and request in one statement. Outcomes: claimed (go ahead, then
 * complete or release), replay (the first reply), or a problem: the key was used with another
 * request (422) or the first request is still running (409).
 */
export async function claimIdempotencyKey(
  ctx: ServiceContext,
  userId: string,
  key: string,
  requestHash: string,
): Promise<Claim> {
  const now = ctx.now();
  const nowIso = now.toISOString();
  const staleBefore = new Date(now.getTime() - IDEMPOTENCY_LOCK_SECONDS * 1000).toISOString();
  const claimed = await ctx.db
    .insert(idempotencyKeys)
    .values({
      userId,
      key,
      requestHash,
      state: "in_progress",
      createdAt: nowIso,
      expiresAt: new Date(now.getTime() + ctx.config.IDEMPOTENCY_TTL_SECONDS * 1000).toISOString(),
    })
    .onConflictDoUpdate({
      target: [idempotencyKeys.userId, idempotencyKeys.key],
      set: {
        requestHash: sql`excluded.request_hash`,
        state: "in_progress",
        responseStatus: null,
        responseBody: null,
        createdAt: sql`excluded.created_at`,
        expiresAt: sql`excluded.expires_at`,
      },
      setWhere: sql`${idempotencyKeys.expiresAt} <= ${nowIso} OR (${idempotencyKeys.state} = 'in_progress' AND ${idempotencyKeys.createdAt} <= ${staleBefore} AND ${idempotencyKeys.requestHash} = excluded.request_hash)`,
    })
    .returning({ key: idempotencyKeys.key })
    .get();
  if (claimed) return { kind: "claimed" };

  const existing = await ctx.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
    .get();
  if (!existing) return claimIdempotencyKey(ctx, userId, key, requestHash); // released meanwhile
  if (existing.requestHash !== requestHash) {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request");
  }
  if (existing.state === "in_progress" || existing.responseStatus === null) {
    throw new ApiError("idempotency_in_progress", "The first request with this key is still running", {
      headers: { "retry-after": "1" },
    });
  }
  return { kind: "replay", status: existing.responseStatus, body: existing.responseBody ?? "" };
}

export async function completeIdempotencyKey(
  ctx: ServiceContext,
  userId: string,
  key: string,
  status: number,
  body: string,
): Promise<void> {
  await ctx.db
    .update(idempotencyKeys)
    .set({ state: "completed", responseStatus: status, responseBody: body })
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
}

/** Frees the key after a failed attempt, so a retry runs the request again. */
export async function releaseIdempotencyKey(ctx: ServiceContext, userId: string, key: string): Promise<void> {
  await ctx.db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.userId, userId),
        eq(idempotencyKeys.key, key),
        eq(idempotencyKeys.state, "in_progress"),
      ),
    );
}
