import { and, asc, eq, gt, inArray, lte } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { settlements } from "../../db/schema";
import { businessDateOf, startOfBusinessDate } from "../../lib/business-days";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import { driverAccount } from "../ledger/accounts";
import { type Posting, post, postingStatements, translateLedgerError } from "../ledger/post";
import { announceWallets } from "../wallet/updated";

// Release: pending → available on the due date, once.

type SettlementRow = typeof settlements.$inferSelect;

export type ReleaseOutcome =
  /** This call moved the money. */
  | { status: "released"; transactionId: string }
  /** Someone (an earlier delivery, a concurrent one) already did: nothing moved now. */
  | { status: "already_released"; transactionId: string | null }
  /** Due later than `asOfDate`: left scheduled. */
  | { status: "not_due"; dueOn: string }
  | { status: "missing" };

/** The ledger key of a settlement's release: the database lets it be posted once, ever. */
export const releaseKey = (settlementId: string) => `settlement:${settlementId}`;

function releasePosting(row: SettlementRow): Posting {
  return {
    idempotencyKey: releaseKey(row.id),
    kind: "settlement.release",
    reference: { type: "settlement", id: row.id },
    // The business moment is the due date's São Paulo midnight, whenever the job ran.
    effectiveAt: startOfBusinessDate(row.dueOn),
    lines: [
      { account: driverAccount(row.driverId, "pending"), amount: row.amountCents },
      { account: driverAccount(row.driverId, "available"), amount: -row.amountCents },
    ],
  };
}

/** The guarded row change batched with the posting: only a scheduled row turns released. */
function markReleasedStatement(ctx: ServiceContext, settlementId: string, transactionId: string) {
  return ctx.db
    .update(settlements)
    .set({ status: "released", releaseTransactionId: transactionId, releasedAt: ctx.now().toISOString() })
    .where(and(eq(settlements.id, settlementId), eq(settlements.status, "scheduled")));
}

/**
 * Releases one settlement: debit the driver's pending, credit their available, and mark the row
 * released, in one D1 batch. Safe to call twice or concurrently: the posting's key
 * `settlement:<id>` is unique in the ledger, so only one call moves money; the others find the
 * posting (a replay) and make sure the row says released with that transaction.
 * `asOfDate` (YYYY-MM-DD, São Paulo) defaults to today; a settlement due later is left alone.
 */
export async function releaseSettlement(
  ctx: ServiceContext,
  settlementId: string,
  asOfDate: string = businessDateOf(ctx.now()),
): Promise<ReleaseOutcome> {
  const row = await ctx.db.select().from(settlements).where(eq(settlements.id, settlementId)).get();
  return releaseRow(ctx, row, asOfDate);
}

async function releaseRow(
  ctx: ServiceContext,
  row: SettlementRow | undefined,
  asOfDate: string,
): Promise<ReleaseOutcome> {
  if (!row) return { status: "missing" };
  if (row.status === "released")
    return { status: "already_released", transactionId: row.releaseTransactionId };
  if (row.dueOn > asOfDate) return { status: "not_due", dueOn: row.dueOn };
  const result = await post(ctx, releasePosting(row), (transactionId) => [
    markReleasedStatement(ctx, row.id, transactionId),
  ]);
  if (!result.replayed) {
    await announceWallets(ctx, [row.driverId]);
    return { status: "released", transactionId: result.transactionId };
  }
  // The posting exists, so its batch marked the row; repeat the guarded update in case a
  // posting with this key was ever written without it. A no-op when the row is released.
  await markReleasedStatement(ctx, row.id, result.transactionId).run();
  return { status: "already_released", transactionId: result.transactionId };
}

export interface ReleaseSummary {
  released: number;
  alreadyReleased: number;
  notDue: number;
  missing: number;
  /** Settlements whose release failed (e.g. pending no longer covers it); the caller retries. */
  failed: { settlementId: string; error: unknown }[];
}

/** Releases are written this many to a D1 batch (six statements each), one by one on failure. */
export const RELEASE_GROUP_SIZE = 20;

/**
 * Releases a page of settlements (≤ 100 ids, one bound parameter each) as of `asOfDate`, with
 * few round trips: one read, then one batch per group of RELEASE_GROUP_SIZE. If a group's batch
 * fails (a concurrent release already posted one of them, a floor guard), nothing of it was
 * written, and each of its settlements is released on its own, which sorts out replays.
 */
export async function releaseSettlements(
  ctx: ServiceContext,
  settlementIds: readonly string[],
  asOfDate: string,
): Promise<ReleaseSummary> {
  const summary: ReleaseSummary = { released: 0, alreadyReleased: 0, notDue: 0, missing: 0, failed: [] };
  const ids = [...new Set(settlementIds)];
  if (ids.length === 0) return summary;
  const rows = await ctx.db.select().from(settlements).where(inArray(settlements.id, ids)).all();
  const byId = new Map(rows.map((row) => [row.id, row]));
  const todo: SettlementRow[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (!row) summary.missing += 1;
    else if (row.status === "released") summary.alreadyReleased += 1;
    else if (row.dueOn > asOfDate) summary.notDue += 1;
    else todo.push(row);
  }
  for (let i = 0; i < todo.length; i += RELEASE_GROUP_SIZE) {
    const group = todo.slice(i, i + RELEASE_GROUP_SIZE);
    if (await releaseGroup(ctx, group)) {
      summary.released += group.length;
      await announceWallets(
        ctx,
        group.map((row) => row.driverId),
      );
      continue;
    }
    for (const row of group) {
      try {
        const outcome = await releaseRow(ctx, row, asOfDate);
        if (outcome.status === "released") summary.released += 1;
        else if (outcome.status === "already_released") summary.alreadyReleased += 1;
      } catch (error) {
        summary.failed.push({ settlementId: row.id, error: translateLedgerError(error) });
      }
    }
  }
  return summary;
}

/** All of a group's releases in one atomic batch; false if the batch was refused (nothing written). */
async function releaseGroup(ctx: ServiceContext, group: SettlementRow[]): Promise<boolean> {
  if (group.length < 2) return false;
  const statements: BatchItem<"sqlite">[] = [];
  for (const row of group) {
    const transactionId = newId("txn", ctx.now().getTime());
    statements.push(
      markReleasedStatement(ctx, row.id, transactionId),
      ...(await postingStatements(ctx, releasePosting(row), transactionId)),
    );
  }
  try {
    await ctx.db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ids of scheduled settlements due on or before `asOfDate`, in id order, one page after
 * `afterId` (the last id of the previous page). The filter is served by settlements_due_idx.
 */
export async function dueSettlementIds(
  ctx: ServiceContext,
  asOfDate: string,
  limit: number,
  afterId?: string,
): Promise<string[]> {
  const due = and(eq(settlements.status, "scheduled"), lte(settlements.dueOn, asOfDate));
  const rows = await ctx.db
    .select({ id: settlements.id })
    .from(settlements)
    .where(afterId === undefined ? due : and(due, gt(settlements.id, afterId)))
    .orderBy(asc(settlements.id))
    .limit(limit)
    .all();
  return rows.map((row) => row.id);
}
