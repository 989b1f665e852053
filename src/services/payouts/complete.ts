import { eq } from "drizzle-orm";
import { payouts } from "../../db/schema";
import type { PayoutOutcome } from "../../integrations/payout-rail";
import type { ServiceContext } from "../context";
import { platformAccount } from "../ledger/accounts";
import { post } from "../ledger/post";
import { reverse } from "../ledger/reverse";
import { type PayoutRow, type PayoutView, payoutView } from "./view";

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
  ctx.metrics.record({
    event: "payout",
    stage: outcome.status,
    rail: payout.rail,
    amountCents: payout.amountCents,
  });
  return payoutView({
    ...payout,
    status: outcome.status,
    outcomeTransactionId,
    failureReason,
    railReference,
    updatedAt,
  });
}

function conflictingOutcome(payout: PayoutRow, outcome: PayoutOutcome): Error {
  return new Error(
    `payout ${payout.id} is already ${payout.status}; a ${outcome.status} outcome cannot apply`,
  );
}
