import { and, eq, gt, lte, sql } from "drizzle-orm";
import { ledgerTransactions } from "../../db/schema";
import { startOfBusinessDate } from "../../lib/business-days";
import type { ServiceContext } from "../context";
import { accountId, platformAccount } from "../ledger/accounts";
import { type Posting, post } from "../ledger/post";

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
