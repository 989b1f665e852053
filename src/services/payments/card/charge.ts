import { payments } from "../../../db/schema";
import type { CardChargeResult } from "../../../integrations/card/provider";
import { EfiError } from "../../../integrations/efi/errors";
import { newId } from "../../../lib/ids";
import type { ServiceContext } from "../../context";
import { noteMoneyMoved } from "../../requests/idempotency";
import type { RideView } from "../../rides/view";
import type { PaymentRow } from "../rows";
import { cardNotificationUrl } from "./notification-url";
import { type CardRow, latestCard } from "./on-file";
import { applyCardResult, failCardPayment, settleCardAttempt } from "./outcome";
import { cardPayer } from "./payer";

// Card payments of rides, charged on the passenger's most recent card on file.
//
// - At completion `chargeCardRide` creates the ride's payment (one per ride: the unique index
//   makes a second call a no-op) and charges it. Approved: the ledger posting (card_clearing ←
//   fare, driver pending ← share, revenue ← commission) and `paid`, then `payment.confirmed`.
//   Refused: `failed` with the provider's reason, then `payment.failed`; the ride stays completed
//   and payable. Pending (the issuer or Efí's risk analysis has not decided): left `pending`, with
//   its charge id; Efí's card notification (`applyCardNotification`) or the reconciler decides it.
// - `retryCardPayment` (the passenger, on a failed payment) claims the payment with one guarded
//   update (failed → pending, attempt + 1), so two concurrent retries charge once, and charges
//   again, on another card if asked.
// - Each charge carries `<payment id>:<attempt>` as its idempotency key (Efí: metadata.custom_id),
//   so every provider charge can be matched to one attempt of one payment.
// - Nothing here throws into the ride's completion: a failure is logged and leaves the payment
//   failed (retryable), except when the provider may have charged the card (no answer, or a 5xx):
//   then it stays pending with reason `outcome_unknown` for the reconciler, never charged again.
//   So does a reply with a status we do not know.

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
  if (!card) return failCardPayment(ctx, payment, "no_card_on_file");
  let payer: Awaited<ReturnType<typeof cardPayer>>;
  try {
    payer = await cardPayer(ctx, payment.payerId);
  } catch (error) {
    // E.g. a CPF ciphertext the key cannot open: charge nothing, leave the payment retryable.
    ctx.log.error("card charge impossible: customer data unreadable", { ...fields, error: String(error) });
    return failCardPayment(ctx, payment, "customer_data_unreadable");
  }
  if ("missing" in payer) {
    ctx.log.error("card charge impossible: customer data missing", { ...fields, missing: payer.missing });
    return failCardPayment(ctx, payment, `customer_data_incomplete: ${payer.missing}`);
  }

  let result: CardChargeResult;
  noteMoneyMoved(ctx); // from here a rerun could charge the card twice
  try {
    result = await ctx.cards.charge({
      amountCents: payment.amountCents,
      paymentToken: card.paymentToken,
      customer: payer.customer,
      billingAddress: payer.billingAddress,
      description: `Corrida ${payment.rideId}`,
      idempotencyKey: `${payment.id}:${payment.attempt}`,
      notificationUrl: cardNotificationUrl(ctx.config),
    });
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // A 2xx Efí answered but we could not read is as unknown as no answer: Efí may have charged.
    if (error instanceof EfiError && (error.outcomeUnknown || (error.status >= 200 && error.status < 300))) {
      // The card may have been charged: repeating the charge could take the money twice.
      ctx.log.error("card charge outcome unknown; reconcile by custom_id", {
        ...fields,
        custom_id: `${payment.id}:${payment.attempt}`,
        error: detail,
      });
      return (await settleCardAttempt(ctx, payment, { failureReason: "outcome_unknown" })) ?? payment;
    }
    ctx.log.error("card charge failed", { ...fields, error: detail });
    return failCardPayment(
      ctx,
      payment,
      error instanceof EfiError ? `provider_error: ${error.code}` : "provider_error",
    );
  }

  return applyCardResult(ctx, payment, result);
}
