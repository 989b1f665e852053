import { and, eq } from "drizzle-orm";
import { payments, rides } from "../../../db/schema";
import type { CardChargeResult } from "../../../integrations/card/provider";
import { paymentPoint } from "../../../lib/metrics";
import type { ServiceContext } from "../../context";
import { recordRidePayment } from "../../ledger/ride-postings";
import { walletOf } from "../../wallet/balances";
import { type PaymentRow, paymentRow } from "../rows";
import { cardPaymentView } from "./view";

// What the card provider says about one attempt of a card payment, applied to it. The same code
// serves the charge's own reply, Efí's card notifications and the reconciler, so an outcome is
// applied once whichever reports it first: every write is guarded on the payment still pending
// at that attempt, and the ledger posting is keyed by the ride.

/**
 * Applies a provider result to a payment's current attempt. Approved: the ledger posting and
 * `paid` (unless the provider's total differs from the amount: then it stays pending, flagged
 * `amount_mismatch`, and nothing is confirmed); refused: `failed` (retryable); pending: its charge
 * id kept; unknown: `outcome_unknown`, never a refusal. Returns the payment as it ends.
 */
export async function applyCardResult(
  ctx: ServiceContext,
  payment: PaymentRow,
  result: CardChargeResult,
): Promise<PaymentRow> {
  const fields = { payment_id: payment.id, ride_id: payment.rideId, attempt: payment.attempt };
  const current = await paymentRow(ctx, payment.id);
  if (current?.status !== "pending" || current.attempt !== payment.attempt) {
    return current ?? payment; // decided already (by the reply, a notification or the reconciler)
  }
  payment = current;
  switch (result.status) {
    case "refused":
      ctx.log.info("card charge refused", { ...fields, reason: result.reason });
      return failCardPayment(ctx, payment, result.reason, result.chargeId);
    case "pending":
      ctx.log.info("card charge pending at the provider", { ...fields, charge_id: result.chargeId });
      return (await settleCardAttempt(ctx, payment, { cardChargeId: result.chargeId })) ?? payment;
    case "unknown":
      ctx.log.error("card charge in a state we do not know; left for the reconciler", {
        ...fields,
        charge_id: result.chargeId,
        detail: result.detail,
      });
      return (
        (await settleCardAttempt(ctx, payment, {
          cardChargeId: result.chargeId,
          failureReason: "outcome_unknown",
        })) ?? payment
      );
    case "approved":
      return approve(ctx, payment, result);
  }
}

async function approve(
  ctx: ServiceContext,
  payment: PaymentRow,
  result: Extract<CardChargeResult, { status: "approved" }>,
): Promise<PaymentRow> {
  const fields = { payment_id: payment.id, ride_id: payment.rideId, charge_id: result.chargeId };
  if (result.totalCents != null && result.totalCents !== payment.amountCents) {
    // Efí charged another amount than ours: confirm nothing, a person must look.
    ctx.log.error("card charge total differs from the payment", {
      ...fields,
      total_cents: result.totalCents,
      amount_cents: payment.amountCents,
    });
    return (
      (await settleCardAttempt(ctx, payment, {
        cardChargeId: result.chargeId,
        failureReason: `amount_mismatch: charged ${result.totalCents}, due ${payment.amountCents}`,
      })) ?? payment
    );
  }
  const now = ctx.now();
  let transactionId: string;
  try {
    const posted = await recordRidePayment(ctx, {
      rideId: payment.rideId ?? "",
      method: "card",
      amountCents: payment.amountCents,
      provider: ctx.cards.name,
      providerReference: result.chargeId,
      confirmedAt: now,
    });
    transactionId = posted.transactionId;
  } catch (error) {
    // The card was charged but the ledger refused it: a person must look; never charge again.
    ctx.log.error("approved card charge could not be recorded", {
      ...fields,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return (
      (await settleCardAttempt(ctx, payment, {
        cardChargeId: result.chargeId,
        failureReason: "ledger_error",
      })) ?? payment
    );
  }
  const paid = await settleCardAttempt(ctx, payment, {
    status: "paid",
    cardChargeId: result.chargeId,
    ledgerTransactionId: transactionId,
    failureReason: null,
    paidAt: now.toISOString(),
  });
  if (!paid) return (await paymentRow(ctx, payment.id)) ?? payment;
  ctx.metrics.record(paymentPoint("confirmed", paid));
  await announce(ctx, "payment.confirmed", paid);
  return paid;
}

/** Marks the attempt failed (retryable) and tells the passenger. */
export async function failCardPayment(
  ctx: ServiceContext,
  payment: PaymentRow,
  reason: string,
  cardChargeId?: string,
): Promise<PaymentRow> {
  const failed = await settleCardAttempt(ctx, payment, {
    status: "failed",
    failureReason: reason,
    ...(cardChargeId ? { cardChargeId } : {}),
  });
  if (!failed) return (await paymentRow(ctx, payment.id)) ?? payment;
  ctx.metrics.record(paymentPoint("failed", failed));
  await announce(ctx, "payment.failed", failed);
  return failed;
}

/** Writes an attempt's outcome, only if the payment is still pending at that attempt. */
export function settleCardAttempt(
  ctx: ServiceContext,
  payment: PaymentRow,
  changes: Partial<
    Pick<PaymentRow, "status" | "cardChargeId" | "failureReason" | "ledgerTransactionId" | "paidAt">
  >,
): Promise<PaymentRow | undefined> {
  return ctx.db
    .update(payments)
    .set({ ...changes, updatedAt: ctx.now().toISOString() })
    .where(
      and(eq(payments.id, payment.id), eq(payments.status, "pending"), eq(payments.attempt, payment.attempt)),
    )
    .returning()
    .get();
}

/**
 * `payment.confirmed` / `payment.failed` to the passenger's channel and the ride's sockets, as the
 * Pix side sends them; on a confirmation, `wallet.updated` to the driver. Never throws: the
 * payment is durable, a lost event is a missed notification.
 */
async function announce(
  ctx: ServiceContext,
  type: "payment.confirmed" | "payment.failed",
  row: PaymentRow,
): Promise<void> {
  try {
    await ctx.publish({ type, data: cardPaymentView(row) }, { ride: row.rideId, users: [row.payerId] });
    if (type !== "payment.confirmed" || !row.rideId) return;
    const ride = await ctx.db
      .select({ driverId: rides.driverId })
      .from(rides)
      .where(eq(rides.id, row.rideId))
      .get();
    if (ride?.driverId) {
      await ctx.publish(
        { type: "wallet.updated", data: await walletOf(ctx, ride.driverId) },
        { users: [ride.driverId] },
      );
    }
  } catch (error) {
    ctx.log.warn("card payment event not sent", { payment_id: row.id, type, error: String(error) });
  }
}
