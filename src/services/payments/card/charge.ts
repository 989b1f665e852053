import { and, eq } from "drizzle-orm";
import { payments, rides } from "../../../db/schema";
import type { CardChargeResult } from "../../../integrations/card/provider";
import { EfiError } from "../../../integrations/efi/errors";
import { newId } from "../../../lib/ids";
import { paymentPoint } from "../../../lib/metrics";
import type { ServiceContext } from "../../context";
import { recordRidePayment } from "../../ledger/ride-postings";
import type { RideView } from "../../rides/view";
import { walletOf } from "../../wallet/balances";
import type { PaymentRow } from "../rows";
import { type CardRow, latestCard } from "./on-file";
import { cardPayer } from "./payer";
import { cardPaymentView } from "./view";

// Card payments of rides, charged on the passenger's most recent card on file.
//
// - At completion `chargeCardRide` creates the ride's payment (one per ride: the unique index
//   makes a second call a no-op) and charges it. Approved: the ledger posting (card_clearing ←
//   fare, driver pending ← share, revenue ← commission) and `paid`, then `payment.confirmed`.
//   Refused: `failed` with the provider's reason, then `payment.failed`; the ride stays completed
//   and payable. Pending (the issuer or Efí's risk analysis has not decided): left `pending`, with
//   its charge id; Efí's card notification would confirm it later (not handled yet).
// - `retryCardPayment` (the passenger, on a failed payment) claims the payment with one guarded
//   update (failed → pending, attempt + 1), so two concurrent retries charge once, and charges
//   again, on another card if asked.
// - Each charge carries `<payment id>:<attempt>` as its idempotency key (Efí: metadata.custom_id),
//   so every provider charge can be matched to one attempt of one payment.
// - Nothing here throws into the ride's completion: a failure is logged and leaves the payment
//   failed (retryable), except when the provider may have charged the card (no answer, or a 5xx):
//   then it stays pending with reason `outcome_unknown` for reconciliation, never charged again.

/**
 * Charges a completed card ride on the passenger's most recent card. Called once the ride is
 * completed; never throws (the ride is over whatever the card says): a failure is logged and
 * leaves the payment retryable through `retryCardPayment`. A second call for the same ride finds
 * its payment already created and charges nothing.
 */
export async function chargeCardRide(ctx: ServiceContext, ride: RideView): Promise<void> {
  try {
    if (ride.payment_method !== "card" || ride.status !== "completed" || !ride.final_fare_cents) {
      ctx.log.warn("card charge skipped: not a completed card ride", {
        ride_id: ride.id,
        status: ride.status,
        payment_method: ride.payment_method,
      });
      return;
    }
    const payment = await createCardRidePayment(ctx, ride.id, ride.passenger_id, ride.final_fare_cents);
    if (!payment) {
      ctx.log.info("card charge skipped: the ride's payment exists already", { ride_id: ride.id });
      return;
    }
    await attemptCharge(ctx, payment, await latestCard(ctx, ride.passenger_id));
  } catch (error) {
    ctx.log.error("card charge of a completed ride failed", {
      ride_id: ride.id,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

/** The ride's payment, pending at attempt 1; undefined if the ride has one already. */
export async function createCardRidePayment(
  ctx: ServiceContext,
  rideId: string,
  payerId: string,
  amountCents: number,
): Promise<PaymentRow | undefined> {
  const now = ctx.now();
  const at = now.toISOString();
  const created = await ctx.db
    .insert(payments)
    .values({
      id: newId("pay", now.getTime()),
      purpose: "ride",
      rideId,
      payerId,
      method: "card",
      status: "pending",
      amountCents,
      attempt: 1,
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoNothing()
    .returning()
    .get();
  if (created)
    ctx.metrics.record({ event: "payment", stage: "created", method: "card", purpose: "ride", amountCents });
  return created;
}

/**
 * Charges a pending payment's current attempt on `card` and records the outcome on the payment,
 * the ledger and the passenger's channel. Never throws for the provider's sake: what went wrong
 * becomes the payment's state. Returns the payment as it ends.
 */
export async function attemptCharge(
  ctx: ServiceContext,
  payment: PaymentRow,
  card: CardRow | undefined,
): Promise<PaymentRow> {
  const fields = { payment_id: payment.id, ride_id: payment.rideId, attempt: payment.attempt };
  if (!card) return fail(ctx, payment, "no_card_on_file");
  let payer: Awaited<ReturnType<typeof cardPayer>>;
  try {
    payer = await cardPayer(ctx, payment.payerId);
  } catch (error) {
    // E.g. a CPF ciphertext the key cannot open: charge nothing, leave the payment retryable.
    ctx.log.error("card charge impossible: customer data unreadable", { ...fields, error: String(error) });
    return fail(ctx, payment, "customer_data_unreadable");
  }
  if ("missing" in payer) {
    ctx.log.error("card charge impossible: customer data missing", { ...fields, missing: payer.missing });
    return fail(ctx, payment, `customer_data_incomplete: ${payer.missing}`);
  }

  let result: CardChargeResult;
  try {
    result = await ctx.cards.charge({
      amountCents: payment.amountCents,
      paymentToken: card.paymentToken,
      customer: payer.customer,
      billingAddress: payer.billingAddress,
      description: `Corrida ${payment.rideId}`,
      idempotencyKey: `${payment.id}:${payment.attempt}`,
    });
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (error instanceof EfiError && error.outcomeUnknown) {
      // The card may have been charged: repeating the charge could take the money twice.
      ctx.log.error("card charge outcome unknown; reconcile by custom_id", {
        ...fields,
        custom_id: `${payment.id}:${payment.attempt}`,
        error: detail,
      });
      return (await settle(ctx, payment, { failureReason: "outcome_unknown" })) ?? payment;
    }
    ctx.log.error("card charge failed", { ...fields, error: detail });
    return fail(ctx, payment, error instanceof EfiError ? `provider_error: ${error.code}` : "provider_error");
  }

  if (result.status === "refused") {
    ctx.log.info("card charge refused", { ...fields, reason: result.reason });
    return fail(ctx, payment, result.reason, result.chargeId);
  }
  if (result.status === "pending") {
    ctx.log.info("card charge pending at the provider", { ...fields, charge_id: result.chargeId });
    return (await settle(ctx, payment, { cardChargeId: result.chargeId })) ?? payment;
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
      charge_id: result.chargeId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return (
      (await settle(ctx, payment, { cardChargeId: result.chargeId, failureReason: "ledger_error" })) ??
      payment
    );
  }
  const paid = await settle(ctx, payment, {
    status: "paid",
    cardChargeId: result.chargeId,
    ledgerTransactionId: transactionId,
    failureReason: null,
    paidAt: now.toISOString(),
  });
  if (!paid) return payment;
  ctx.metrics.record(paymentPoint("confirmed", paid));
  await announce(ctx, "payment.confirmed", paid);
  return paid;
}

/** Marks the attempt failed (retryable) and tells the passenger. */
async function fail(
  ctx: ServiceContext,
  payment: PaymentRow,
  reason: string,
  cardChargeId?: string,
): Promise<PaymentRow> {
  const failed = await settle(ctx, payment, {
    status: "failed",
    failureReason: reason,
    ...(cardChargeId ? { cardChargeId } : {}),
  });
  if (!failed) return payment;
  ctx.metrics.record(paymentPoint("failed", failed));
  await announce(ctx, "payment.failed", failed);
  return failed;
}

/** Writes an attempt's outcome, only if the payment is still pending at that attempt. */
function settle(
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
