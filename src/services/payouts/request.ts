import { eq } from "drizzle-orm";
import { payouts } from "../../db/schema";
import { newId } from "../../lib/ids";
import { type PixKey, parsePixKey } from "../../lib/pix-keys";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { driverAccount, platformAccount } from "../ledger/accounts";
import { type PostingLine, post } from "../ledger/post";
import { getSettlementConfig } from "../settlements/config";
import { announceWallets } from "../wallet/updated";
import { completePayout } from "./complete";
import { type PayoutAllowance, payoutAllowance } from "./own-key";
import { type PayoutRow, type PayoutView, payoutView } from "./view";

/**
 * A driver pays out `amountCents` of their available balance to a Pix key; the configured fee is
 * charged on top. Every caller goes through the same checks (`payoutAllowance`): the key must be
 * one the driver registered, past its cool-down, within the daily limit, and the driver's CPF goes
 * to the rail so the provider refuses a key owned by anyone else. There is no unchecked way in.
 *
 * One posting moves amount + fee out of `available` (floor-guarded: the database refuses an
 * overdraft, so of two payouts racing for one balance only one commits) into
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
  const allowance = await payoutAllowance(ctx, driverId, key, input.amountCents, config);
  if (input.amountCents < config.minPayoutCents) {
    throw new ApiError(
      "payout_below_minimum",
      `The minimum payout is ${config.minPayoutCents} centavos; asked for ${input.amountCents}`,
      { errors: [{ path: "amount_cents", message: `must be at least ${config.minPayoutCents}` }] },
    );
  }
  try {
    return await movePayout(ctx, driverId, key, input.amountCents, config.payoutFeeCents, allowance);
  } catch (error) {
    if (error instanceof Error && messagesOf(error).includes("ledger_unbalanced"))
      throw allowance.overLimit();
    throw error;
  }
}

/** The money movement and the send, once `requestPayout` allowed them. */
async function movePayout(
  ctx: ServiceContext,
  driverId: string,
  key: PixKey,
  amount: number,
  fee: number,
  allowance: PayoutAllowance,
): Promise<PayoutView> {
  const now = ctx.now();
  const nowIso = now.toISOString();
  const id = newId("pout", now.getTime());
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
      return [...allowance.guards(transactionId), ctx.db.insert(payouts).values(row)];
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
      favoredCpf: allowance.favoredCpf,
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

function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}
