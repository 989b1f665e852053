import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { payouts } from "../../db/schema";
import { newId } from "../../lib/ids";
import { parsePixKey } from "../../lib/pix-keys";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { driverAccount, platformAccount } from "../ledger/accounts";
import { type PostingLine, post } from "../ledger/post";
import { getSettlementConfig } from "../settlements/config";
import { announceWallets } from "../wallet/updated";
import { completePayout } from "./complete";
import { type PayoutRow, type PayoutView, payoutView } from "./view";

export interface PayoutRequestOptions {
  /** The CPF the rail asks the provider to check the key against (Efí's `favorecido.cpf`). */
  favoredCpf?: string;
  /**
   * Statements run first in the posting's batch, given its transaction id: a guard that inserts
   * the closing row early (`ledger_unbalanced`) refuses the whole payout, race-free.
   */
  guards?: (transactionId: string) => BatchItem<"sqlite">[];
}

/**
 * The money movement of a payout, with no check on whom it goes to: the API goes through
 * `requestOwnKeyPayout` (./own-key.ts), which allows only the driver's registered keys.
 *
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
  options: PayoutRequestOptions = {},
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
      return [...(options.guards?.(transactionId) ?? []), ctx.db.insert(payouts).values(row)];
    },
  );
  if (!row) throw new Error("the payout row was not built");
  await announceWallets(ctx, [driverId]);
  ctx.metrics.record({ event: "payout", stage: "requested", rail: ctx.payoutRail.name, amountCents: amount });

  let receipt: Awaited<ReturnType<typeof ctx.payoutRail.send>>;
  try {
    receipt = await ctx.payoutRail.send({
      payoutId: id,
      amountCents: amount,
      pixKey: key.normalized,
      pixKeyType: key.type,
      ...(options.favoredCpf ? { favoredCpf: options.favoredCpf } : {}),
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
