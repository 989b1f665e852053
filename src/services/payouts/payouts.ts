import { and, desc, eq, lt } from "drizzle-orm";
import { payouts } from "../../db/schema";
import type { PayoutOutcome } from "../../integrations/payout-rail";
import { newId } from "../../lib/ids";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { driverAccount, type PostingLine, platformAccount, post, reverse } from "../ledger/postings";
import { getSettlementConfig } from "../settlements/config";
import { maskPixKey, parsePixKey } from "./pix-keys";

type PayoutRow = typeof payouts.$inferSelect;

export interface PayoutView {
  id: string;
  status: PayoutRow["status"];
  amount_cents: number;
  fee_cents: number;
  /** Masked: only the last four characters are shown. */
  pix_key: string;
  pix_key_type: PayoutRow["pixKeyType"];
  rail: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

export function payoutView(row: PayoutRow): PayoutView {
  return {
    id: row.id,
    status: row.status,
    amount_cents: row.amountCents,
    fee_cents: row.feeCents,
    pix_key: maskPixKey(row.pixKey),
    pix_key_type: row.pixKeyType,
    rail: row.rail,
    failure_reason: row.failureReason,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/**
 * A driver pays out `amountCents` of their available balance to a Pix key; the configured fee is
 * charged on top. One posting moves amount + fee out of `available` (floor-guarded: the database
 * refuses an overdraft, so of two payouts racing for one balance only one commits) into
 * `payouts_in_transit` and `revenue`, with the payout row in the same batch. Then the rail sends
 * it; an outcome it already knows is applied at once, a later one arrives through `completePayout`.
 * If the rail throws, the outcome is unknown: the payout stays in transit, its money held.
 */
export async function requestPayout(
  ctx: ServiceContext,
  driverId: string,
  input: { amountCents: number; pixKey: string },
): Promise<PayoutView> {
  const key = parsePixKey(input.pixKey);
  const config = await getSettlementConfig(ctx);
  if (input.amountCents < config.minPayoutCents) {
    throw new ApiError(
      "payout_below_minimum",
      `The minimum payout is ${config.minPayoutCents} centavos; asked for ${input.amountCents}`,
      { errors: [{ path: "amount_cents", message: `must be at least ${config.minPayoutCents}` }] },
    );
  }
  const now = ctx.now();
  const nowIso = now.toISOString();
  const id = newId("pout", now.getTime());
  const amount = input.amountCents;
  const fee = config.payoutFeeCents;
  const lines: PostingLine[] = [
    { account: driverAccount(driverId, "available"), amount: amount + fee },
    { account: platformAccount("payouts_in_transit"), amount: -amount },
  ];
  if (fee > 0) lines.push({ account: platformAccount("revenue"), amount: -fee });

  let row: PayoutRow | undefined;
  await post(
    ctx,
    {
      idempotencyKey: `payout:${id}`,
      kind: "payout.request",
      reference: { type: "payout", id },
      effectiveAt: now,
      lines,
    },
    (transactionId) => {
      row = {
        id,
        driverId,
        amountCents: amount,
        feeCents: fee,
        pixKey: key.normalized,
        pixKeyType: key.type,
        status: "in_transit",
        rail: ctx.payoutRail.name,
        railReference: null,
        requestTransactionId: transactionId,
        outcomeTransactionId: null,
        failureReason: null,
        createdAt: nowIso,
        updatedAt: nowIso,
      };
      return [ctx.db.insert(payouts).values(row)];
    },
  );
  if (!row) throw new Error("the payout row was not built");

  let receipt: Awaited<ReturnType<typeof ctx.payoutRail.send>>;
  try {
    receipt = await ctx.payoutRail.send({
      payoutId: id,
      amountCents: amount,
      pixKey: key.normalized,
      pixKeyType: key.type,
    });
  } catch (error) {
    ctx.log.error("payout rail send failed; the payout stays in transit", {
      payout_id: id,
      rail: ctx.payoutRail.name,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return payoutView(row);
  }
  if (receipt.outcome) return completePayout(ctx, id, receipt.outcome, { railReference: receipt.reference });
  await ctx.db
    .update(payouts)
    .set({ railReference: receipt.reference, updatedAt: ctx.now().toISOString() })
    .where(eq(payouts.id, id));
  return payoutView({ ...row, railReference: receipt.reference });
}

/**
 * Applies a rail's outcome to an in-transit payout. Paid: in transit → the platform's Efí balance
 * (posting `payout:<id>:paid`). Failed: the request posting is reversed, so amount and fee return
 * to the driver's available balance. Idempotent: the same outcome again returns the payout as it
 * is; a different outcome for a settled payout is an error for a person to look at.
 *
 * The status change is in the posting's batch and guards it: were the payout no longer in transit
 * (a concurrent outcome won), the `payouts_single_outcome` trigger aborts the whole batch,
 * posting included.
 */
export async function completePayout(
  ctx: ServiceContext,
  payoutId: string,
  outcome: PayoutOutcome,
  options: { railReference?: string } = {},
): Promise<PayoutView> {
  const payout = await ctx.db.select().from(payouts).where(eq(payouts.id, payoutId)).get();
  if (!payout) throw new Error(`no payout ${payoutId}`);
  if (payout.status === outcome.status) return payoutView(payout);
  if (payout.status !== "in_transit") throw conflictingOutcome(payout, outcome);

  const updatedAt = ctx.now().toISOString();
  const failureReason = outcome.status === "failed" ? outcome.reason : null;
  const railReference = options.railReference ?? payout.railReference;
  const transition = (transactionId: string) => [
    ctx.db
      .update(payouts)
      .set({
        status: outcome.status,
        outcomeTransactionId: transactionId,
        failureReason,
        railReference,
        updatedAt,
      })
      .where(eq(payouts.id, payoutId)),
  ];

  let outcomeTransactionId: string;
  try {
    if (outcome.status === "paid") {
      const result = await post(
        ctx,
        {
          idempotencyKey: `payout:${payoutId}:paid`,
          kind: "payout.paid",
          reference: { type: "payout", id: payoutId },
          effectiveAt: ctx.now(),
          lines: [
            { account: platformAccount("payouts_in_transit"), amount: payout.amountCents },
            { account: platformAccount("efi_balance"), amount: -payout.amountCents },
          ],
        },
        transition,
      );
      outcomeTransactionId = result.transactionId;
    } else {
      const result = await reverse(ctx, payout.requestTransactionId, {
        kind: "payout.failed",
        memo: outcome.reason,
        alongside: transition,
      });
      outcomeTransactionId = result.transactionId;
    }
  } catch (error) {
    // A concurrent call may have settled it first: the same outcome is a replay, another a conflict.
    const current = await ctx.db.select().from(payouts).where(eq(payouts.id, payoutId)).get();
    if (current?.status === outcome.status) return payoutView(current);
    if (current && current.status !== "in_transit") throw conflictingOutcome(current, outcome);
    throw error;
  }
  return payoutView({
    ...payout,
    status: outcome.status,
    outcomeTransactionId,
    failureReason,
    railReference,
    updatedAt,
  });
}

/** The driver's payouts, newest first. */
export async function listPayouts(ctx: ServiceContext, driverId: string, page: PageQuery) {
  const owner = eq(payouts.driverId, driverId);
  const rows = await ctx.db
    .select()
    .from(payouts)
    .where(page.cursor ? and(owner, lt(payouts.id, page.cursor)) : owner)
    .orderBy(desc(payouts.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(payoutView), next_cursor };
}

function conflictingOutcome(payout: PayoutRow, outcome: PayoutOutcome): Error {
  return new Error(
    `payout ${payout.id} is already ${payout.status}; a ${outcome.status} outcome cannot apply`,
  );
}
