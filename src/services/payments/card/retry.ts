import { and, eq } from "drizzle-orm";
import { paymentMethods, payments, rides } from "../../../db/schema";
import { ApiError } from "../../../lib/problem";
import type { ServiceContext } from "../../context";
import { amountDue } from "../amount-due";
import { type PaymentRow, ridePaymentRow } from "../rows";
import { attemptCharge, createCardRidePayment } from "./charge";
import { type CardRow, latestCard } from "./on-file";
import { type CardPaymentView, cardPaymentView } from "./view";

/**
 * Retries a failed card payment of the caller's ride, on `paymentMethodId` or their most recent
 * card. Answers with the payment after the attempt: `paid`, `failed` again (with the reason), or
 * `pending`. A completed card ride (or one cancelled with a fee) whose payment was never created
 * (its charge failed before that) gets it created here, for the fare (or the fee).
 */
export async function retryCardPayment(
  ctx: ServiceContext,
  passengerId: string,
  rideId: string,
  input: { paymentMethodId?: string } = {},
): Promise<CardPaymentView> {
  const ride = await ctx.db.select().from(rides).where(eq(rides.id, rideId)).get();
  // Another passenger's ride does not exist, as everywhere else.
  if (!ride || ride.passengerId !== passengerId) throw new ApiError("not_found", "No such ride");
  if (ride.paymentMethod !== "card") {
    throw new ApiError("payment_not_retryable", `This ride is paid by ${ride.paymentMethod}, not by card`);
  }
  const existing = await ridePaymentRow(ctx, ride.id);
  if (existing && existing.status !== "failed") throw notRetryable(existing);
  const due = amountDue({
    id: ride.id,
    status: ride.status,
    payment_method: ride.paymentMethod,
    final_fare_cents: ride.finalFareCents,
    cancellation_fee_cents: ride.cancellationFeeCents,
  });
  if (!existing && due === null) {
    throw new ApiError(
      "payment_not_retryable",
      `The ride is ${ride.status}; only a completed ride or a cancellation fee is charged`,
    );
  }
  const card = await chosenCard(ctx, passengerId, input.paymentMethodId);
  const payment = existing
    ? await claimRetry(ctx, existing)
    : await createCardRidePayment(ctx, ride.id, ride.passengerId, due ?? 0);
  if (!payment)
    throw new ApiError("payment_not_retryable", "The ride's payment is being created; read it again");
  return cardPaymentView(await attemptCharge(ctx, payment, card));
}

async function chosenCard(ctx: ServiceContext, passengerId: string, id?: string): Promise<CardRow> {
  if (id) {
    const card = await ctx.db
      .select()
      .from(paymentMethods)
      .where(and(eq(paymentMethods.id, id), eq(paymentMethods.userId, passengerId)))
      .get();
    if (!card) throw new ApiError("not_found", "No such card");
    return card;
  }
  const card = await latestCard(ctx, passengerId);
  if (!card) throw new ApiError("card_required", "Add a card to pay for this ride");
  return card;
}

function notRetryable(payment: PaymentRow): ApiError {
  const why =
    payment.status === "pending"
      ? "its charge is still being decided"
      : `it is ${payment.status}; only a failed payment can be retried`;
  return new ApiError("payment_not_retryable", `The ride's payment cannot be retried: ${why}`);
}

/** failed → pending with the next attempt, guarded: of concurrent retries exactly one charges. */
async function claimRetry(ctx: ServiceContext, payment: PaymentRow): Promise<PaymentRow> {
  const claimed = await ctx.db
    .update(payments)
    .set({
      status: "pending",
      attempt: payment.attempt + 1,
      failureReason: null,
      cardChargeId: null,
      updatedAt: ctx.now().toISOString(),
    })
    .where(
      and(eq(payments.id, payment.id), eq(payments.status, "failed"), eq(payments.attempt, payment.attempt)),
    )
    .returning()
    .get();
  if (!claimed) {
    throw new ApiError(
      "payment_not_retryable",
      "The payment changed meanwhile (another retry?); read it again",
    );
  }
  return claimed;
}
