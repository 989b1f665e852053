import { and, eq, sql } from "drizzle-orm";
import { idempotencyKeys } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/**
 * How long an in-progress claim holds its key without a sign of life; after that it is taken to
 * be abandoned (its isolate died) and a retry of the same request may take it over. A running
 * request renews it every `IDEMPOTENCY_RENEW_SECONDS`, so a slow one is never taken over. The
 * figure still outlives the slowest single stretch without a renewal: one Efí call is at most
 * 3 tries × 10 s plus 2 backoffs of at most 2 s (34 s), a re-authentication before it can double
 * that, and a duplicate check after a lost reply adds one more call: about 102 s. A dead claim
 * therefore blocks its key for two minutes at most.
 */
export const IDEMPOTENCY_LOCK_SECONDS = 120;

/** How often a running request renews its claim (well inside the lock, so one lost renewal is harmless). */
export const IDEMPOTENCY_RENEW_SECONDS = 30;

export type Claim = { kind: "claimed" } | { kind: "replay"; status: number; body: string };

/** A caller's key and the hash of the request it came with. */
export interface KeyRef {
  userId: string;
  key: string;
  requestHash: string;
}

const whereKey = (ref: KeyRef) =>
  and(eq(idempotencyKeys.userId, ref.userId), eq(idempotencyKeys.key, ref.key));

/**
 * The claim as two statements for one batch: the upsert that takes a new, expired or abandoned
 * key (answering the key if it did), and the row as it stands after it. A route may put them in
 * its own first batch of reads (see `PendingClaim`), so claiming costs no round trip of its own.
 */
export function claimStatements(ctx: ServiceContext, ref: KeyRef) {
  const now = ctx.now();
  const nowIso = now.toISOString();
  const staleBefore = new Date(now.getTime() - IDEMPOTENCY_LOCK_SECONDS * 1000).toISOString();
  return {
    take: ctx.db
      .insert(idempotencyKeys)
      .values({
        userId: ref.userId,
        key: ref.key,
        requestHash: ref.requestHash,
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
      .returning({ key: idempotencyKeys.key }),
    current: ctx.db.select().from(idempotencyKeys).where(whereKey(ref)).limit(1),
  };
}

type ClaimResults = {
  take: { key: string }[];
  current: (typeof idempotencyKeys.$inferSelect)[];
};

/**
 * What the claim's batch found: claimed (go ahead, then complete or release), replay (the first
 * reply), or a problem: the key was used with another request (422) or the first request is
 * still running (409).
 */
export function claimOutcome(ref: KeyRef, results: ClaimResults): Claim {
  if (results.take.length > 0) return { kind: "claimed" };
  const existing = results.current[0];
  if (existing && existing.requestHash !== ref.requestHash) {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request");
  }
  // No row cannot happen inside the batch's transaction; were it to, "still running" is the
  // answer that changes nothing and invites the retry.
  if (!existing || existing.state === "in_progress" || existing.responseStatus === null) {
    throw new ApiError("idempotency_in_progress", "The first request with this key is still running", {
      headers: { "retry-after": "1" },
    });
  }
  return { kind: "replay", status: existing.responseStatus, body: existing.responseBody ?? "" };
}

/** Claims `key` for this caller and request: one round trip. */
export async function claimIdempotencyKey(ctx: ServiceContext, ref: KeyRef): Promise<Claim> {
  const { take, current } = claimStatements(ctx, ref);
  const [taken, row] = await ctx.db.batch([take, current]);
  return claimOutcome(ref, { take: taken, current: row });
}

/** The statement that stores the reply, for a batch of the caller's (or run alone). */
export function completionStatement(ctx: ServiceContext, ref: KeyRef, status: number, body: string) {
  return ctx.db
    .update(idempotencyKeys)
    .set({ state: "completed", responseStatus: status, responseBody: body })
    .where(and(whereKey(ref), eq(idempotencyKeys.requestHash, ref.requestHash)));
}

export async function completeIdempotencyKey(
  ctx: ServiceContext,
  ref: KeyRef,
  status: number,
  body: string,
): Promise<void> {
  await completionStatement(ctx, ref, status, body);
}

/** Frees the key after a failed attempt, so a retry runs the request again. */
export async function releaseIdempotencyKey(ctx: ServiceContext, ref: KeyRef): Promise<void> {
  await ctx.db
    .delete(idempotencyKeys)
    .where(
      and(
        whereKey(ref),
        eq(idempotencyKeys.state, "in_progress"),
        eq(idempotencyKeys.requestHash, ref.requestHash),
      ),
    );
}

/** A sign of life of a running request: its claim's clock starts again. */
export async function renewIdempotencyClaim(ctx: ServiceContext, ref: KeyRef): Promise<void> {
  await ctx.db
    .update(idempotencyKeys)
    .set({ createdAt: ctx.now().toISOString() })
    .where(
      and(
        whereKey(ref),
        eq(idempotencyKeys.state, "in_progress"),
        eq(idempotencyKeys.requestHash, ref.requestHash),
      ),
    );
}

/**
 * A key whose claim the route makes itself, in its own first batch of reads (one round trip
 * instead of two). The route puts `statements()` in that batch and hands the results to
 * `settle()`; a replay found there is the route's answer. It may also store its reply in its
 * write batch (`completion()`); the middleware then has nothing left to write.
 */
export class PendingClaim {
  outcome: Claim | null = null;
  stored: { status: number; body: string } | null = null;

  constructor(readonly ref: KeyRef) {}

  statements(ctx: ServiceContext) {
    return claimStatements(ctx, this.ref);
  }

  settle(results: ClaimResults): Claim {
    this.outcome = claimOutcome(this.ref, results);
    return this.outcome;
  }

  /** The statement storing `status` and `body` as the reply; call `storedWith` once it committed. */
  completion(ctx: ServiceContext, status: number, body: string) {
    return completionStatement(ctx, this.ref, status, body);
  }

  storedWith(status: number, body: string): void {
    this.stored = { status, body };
  }
}

const movedMoney = new WeakSet<ServiceContext>();

/**
 * Money moved (or may have: a provider was asked to move it) during this request. Its reply is
 * then its outcome whatever its status, and is stored for replay: running it again could move
 * the money twice. Called by the ledger when a posting commits and by services just before they
 * ask a provider to send or return money.
 */
export function noteMoneyMoved(ctx: ServiceContext): void {
  movedMoney.add(ctx);
}

export function hasMovedMoney(ctx: ServiceContext): boolean {
  return movedMoney.has(ctx);
}
