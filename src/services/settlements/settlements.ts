import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ledgerTransactions, settlements } from "../../db/schema";
import { addBusinessDays, businessDateOf, startOfBusinessDate } from "../../lib/business-days";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import {
  accountId,
  driverAccount,
  type Posting,
  platformAccount,
  post,
  postingStatements,
  translateLedgerError,
} from "../ledger/postings";
import type { SettlementConfig } from "./config";

export interface SettlementSource {
  driverId: string;
  /** The posting that credited the driver's pending balance. */
  sourceTransactionId: string;
  rideId: string | null;
  amountCents: number;
  /** When the payment was confirmed: D of D+N. */
  confirmedAt: Date;
}

/**
 * The insert that schedules a driver's share for release D+N business days after confirmation,
 * to be batched with the posting that credited it (one settlement per source transaction).
 */
export function scheduleSettlementStatement(
  ctx: ServiceContext,
  config: SettlementConfig,
  source: SettlementSource,
) {
  const dueOn = addBusinessDays(
    businessDateOf(source.confirmedAt),
    config.delayBusinessDays,
    config.holidays,
  );
  return ctx.db.insert(settlements).values({
    id: newId("stl", ctx.now().getTime()),
    driverId: source.driverId,
    sourceTransactionId: source.sourceTransactionId,
    rideId: source.rideId,
    amountCents: source.amountCents,
    dueOn,
    status: "scheduled",
    createdAt: ctx.now().toISOString(),
  });
}

// ---------------------------------------------------------------------------------------------
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
  if (!result.replayed) return { status: "released", transactionId: result.transactionId };
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

// ---------------------------------------------------------------------------------------------
// Clearing sweeps: clearing accounts return to zero once their settlement window has passed.

/**
 * The clearing accounts the nightly job empties, with their settlement windows in calendar days.
 * - `efi_clearing`, window 0: a Pix is in the platform's Efí account the moment it is paid, so
 *   everything effective before today (São Paulo) is swept into `efi_balance` at midnight.
 * - `card_clearing`, window 30: card acquirers settle credit sales about 30 days later, into the
 *   platform's account; entries effective more than 30 whole days before today are swept.
 * After a sweep for date B, what the account holds from before its cutoff nets to zero; a
 * non-zero `clearingDue` after the nightly run is the first sign that money went missing.
 */
export const CLEARING_SWEEPS = {
  efi_clearing: { windowDays: 0, into: "efi_balance" },
  card_clearing: { windowDays: 30, into: "efi_balance" },
} as const;

export type ClearingKind = keyof typeof CLEARING_SWEEPS;
export const EFI_CLEARING_WINDOW_DAYS = CLEARING_SWEEPS.efi_clearing.windowDays;
export const CARD_CLEARING_WINDOW_DAYS = CLEARING_SWEEPS.card_clearing.windowDays;

export const SWEEP_KIND = "clearing.sweep";
const SWEEP_REFERENCE_TYPE = "clearing_sweep";
export const sweepKey = (clearing: ClearingKind, businessDate: string) => `sweep:${clearing}:${businessDate}`;

/** The last instant whose entries a sweep on `businessDate` takes: the end of day B − window − 1. */
export function clearingCutoff(clearing: ClearingKind, businessDate: string): Date {
  const noon = Date.parse(`${businessDate}T12:00:00Z`);
  const firstKept = new Date(noon - CLEARING_SWEEPS[clearing].windowDays * 86_400_000)
    .toISOString()
    .slice(0, 10);
  return new Date(startOfBusinessDate(firstKept).getTime() - 1);
}

/**
 * What a sweep on `businessDate` would move (centavos, natural sign of the debit-normal
 * clearing account): entries effective up to the cutoff, less everything swept before.
 * Earlier sweeps count whatever their own effective date, so a late entry back-dated before an
 * earlier cutoff is picked up by the next sweep rather than lost.
 */
export async function clearingDue(ctx: ServiceContext, clearing: ClearingKind, businessDate: string) {
  const cutoff = clearingCutoff(clearing, businessDate).toISOString();
  const row = await ctx.db.get<{ due: number | null }>(sql`
    SELECT sum(e.amount) AS due
      FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
     WHERE e.account_id = ${accountId(platformAccount(clearing))}
       AND (e.effective_at <= ${cutoff} OR t.kind = ${SWEEP_KIND})`);
  return row?.due ?? 0;
}

export type SweepOutcome =
  | { status: "swept"; amountCents: number; transactionId: string }
  /** Nothing to move: no posting is written for a zero balance. */
  | { status: "nothing_due" }
  /** A sweep for this date (or a later one) was posted already: nothing moves now. */
  | { status: "already_swept"; lastSweptOn: string };

/**
 * Moves what a clearing account holds from before its window into the platform's Efí balance,
 * once per business date (posting key `sweep:<account>:<date>`). Sweeps go forward only: a run
 * for a date on or before the last swept date posts nothing, so the running "less everything
 * swept before" in `clearingDue` stays right if a day is run again or out of order.
 */
export async function sweepClearing(
  ctx: ServiceContext,
  businessDate: string,
): Promise<Record<ClearingKind, SweepOutcome>> {
  const outcomes = {} as Record<ClearingKind, SweepOutcome>;
  for (const clearing of Object.keys(CLEARING_SWEEPS) as ClearingKind[]) {
    outcomes[clearing] = await sweepOne(ctx, clearing, businessDate);
  }
  return outcomes;
}

async function sweepOne(
  ctx: ServiceContext,
  clearing: ClearingKind,
  businessDate: string,
): Promise<SweepOutcome> {
  const last = await lastSweptOn(ctx, clearing);
  if (last !== null && last >= businessDate) return { status: "already_swept", lastSweptOn: last };
  const amount = await clearingDue(ctx, clearing, businessDate);
  if (amount === 0) return { status: "nothing_due" };
  const posting: Posting = {
    idempotencyKey: sweepKey(clearing, businessDate),
    kind: SWEEP_KIND,
    reference: { type: SWEEP_REFERENCE_TYPE, id: `${clearing}:${businessDate}` },
    // The sweep closes the previous business day, whatever window its entries came from.
    effectiveAt: new Date(startOfBusinessDate(businessDate).getTime() - 1),
    memo: `entries effective up to ${clearingCutoff(clearing, businessDate).toISOString()}`,
    lines: [
      { account: platformAccount(CLEARING_SWEEPS[clearing].into), amount },
      { account: platformAccount(clearing), amount: -amount },
    ],
  };
  try {
    const result = await post(ctx, posting);
    if (result.replayed) return { status: "already_swept", lastSweptOn: businessDate };
    return { status: "swept", amountCents: amount, transactionId: result.transactionId };
  } catch (error) {
    // A concurrent run swept this date first with a different amount (an entry landed between
    // the two reads): its posting stands, the difference goes with the next day's sweep.
    if ((await lastSweptOn(ctx, clearing)) === businessDate) {
      return { status: "already_swept", lastSweptOn: businessDate };
    }
    throw error;
  }
}

/** The business date of the latest sweep of `clearing`, or null. */
async function lastSweptOn(ctx: ServiceContext, clearing: ClearingKind): Promise<string | null> {
  const prefix = `${clearing}:`;
  const row = await ctx.db
    .select({ referenceId: ledgerTransactions.referenceId })
    .from(ledgerTransactions)
    .where(
      and(
        eq(ledgerTransactions.referenceType, SWEEP_REFERENCE_TYPE),
        gt(ledgerTransactions.referenceId, prefix),
        lte(ledgerTransactions.referenceId, `${prefix}~`),
      ),
    )
    .orderBy(sql`${ledgerTransactions.referenceId} DESC`)
    .limit(1)
    .get();
  return row ? row.referenceId.slice(prefix.length) : null;
}
