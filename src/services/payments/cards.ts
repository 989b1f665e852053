import { and, desc, eq, lt } from "drizzle-orm";
import { paymentMethods, payments, rides, users } from "../../db/schema";
import type { CardBillingAddress, CardChargeResult, CardCustomer } from "../../integrations/card/provider";
import { EfiError } from "../../integrations/efi/errors";
import { decryptText } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { recordRidePayment } from "../ledger/ride-postings";
import { walletOf } from "../ledger/wallet";
import type { RideView } from "../rides/rides";

// Card payments of rides (issue 5). A passenger stores cards as the provider's payment tokens
// (the card itself never reaches us); a completed card ride is charged on the most recent one.
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

type PaymentRow = typeof payments.$inferSelect;
type CardRow = typeof paymentMethods.$inferSelect;

/** The brands Efí's tokeniser (payment-token-efi) accepts. */
export const CARD_BRANDS = ["visa", "mastercard", "amex", "elo", "hipercard"] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

export interface CardView {
  id: string;
  brand: CardBrand;
  last4: string;
  created_at: string;
}

/** A card on file, as the API shows it: never its payment token. */
function cardView(row: CardRow): CardView {
  // Stored only through addCard, whose input is one of CARD_BRANDS.
  return { id: row.id, brand: row.brand as CardBrand, last4: row.last4, created_at: row.createdAt };
}

/**
 * The payment as `GET /v1/rides/{id}/payment` shows it (`pix` is null for a card), with what a
 * card attempt adds: the attempt number and why it failed.
 */
export interface CardPaymentView {
  id: string;
  purpose: PaymentRow["purpose"];
  status: PaymentRow["status"];
  method: PaymentRow["method"];
  amount_cents: number;
  refunded_cents: number;
  ride_id: string | null;
  payer_id: string;
  pix: null;
  /** 1 for the charge at completion, +1 per retry. */
  attempt: number;
  /** Why the last attempt failed (the provider's words for a refusal), or null. */
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
}

export function cardPaymentView(row: PaymentRow): CardPaymentView {
  return {
    id: row.id,
    purpose: row.purpose,
    status: row.status,
    method: row.method,
    amount_cents: row.amountCents,
    refunded_cents: row.refundedCents,
    ride_id: row.rideId,
    payer_id: row.payerId,
    pix: null,
    attempt: row.attempt,
    failure_reason: row.failureReason,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    paid_at: row.paidAt,
  };
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

// ---------------------------------------------------------------------------------------------
// Cards on file

/**
 * Stores a tokenised card for a passenger. Efí will not charge a card without the payer's CPF,
 * and the CPF is only collected at registration, so a passenger without one is refused here
 * (`409 cpf_required`) rather than at the end of their first card ride.
 */
export async function addCard(
  ctx: ServiceContext,
  userId: string,
  input: { paymentToken: string; brand: CardBrand; last4: string },
): Promise<CardView> {
  const user = await ctx.db
    .select({ cpfCiphertext: users.cpfCiphertext })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!user) throw new ApiError("not_found", "No such user");
  if (!user.cpfCiphertext) {
    throw new ApiError("cpf_required", "Card payments need the CPF of the account holder");
  }
  const now = ctx.now();
  const row: CardRow = {
    id: newId("pm", now.getTime()),
    userId,
    kind: "card",
    paymentToken: input.paymentToken,
    brand: input.brand,
    last4: input.last4,
    createdAt: now.toISOString(),
  };
  await ctx.db.insert(paymentMethods).values(row);
  return cardView(row);
}

/** The passenger's cards, newest first. */
export async function listCards(ctx: ServiceContext, userId: string, page: PageQuery) {
  const rows = await ctx.db
    .select()
    .from(paymentMethods)
    .where(
      and(eq(paymentMethods.userId, userId), page.cursor ? lt(paymentMethods.id, page.cursor) : undefined),
    )
    .orderBy(desc(paymentMethods.id))
    .limit(page.limit + 1);
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(cardView), next_cursor };
}

/** Whether the user has a card to charge (a card ride needs one). */
export async function hasCard(ctx: ServiceContext, userId: string): Promise<boolean> {
  return (await latestCard(ctx, userId)) !== undefined;
}

function latestCard(ctx: ServiceContext, userId: string): Promise<CardRow | undefined> {
  return ctx.db
    .select()
    .from(paymentMethods)
    .where(eq(paymentMethods.userId, userId))
    .orderBy(desc(paymentMethods.id))
    .limit(1)
    .get();
}

// ---------------------------------------------------------------------------------------------
// Charging a ride

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
    const payment = await createRidePayment(ctx, ride.id, ride.passenger_id, ride.final_fare_cents);
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
async function createRidePayment(
  ctx: ServiceContext,
  rideId: string,
  payerId: string,
  amountCents: number,
): Promise<PaymentRow | undefined> {
  const now = ctx.now();
  const at = now.toISOString();
  return ctx.db
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
}

/**
 * Retries a failed card payment of the caller's ride, on `paymentMethodId` or their most recent
 * card. Answers with the payment after the attempt: `paid`, `failed` again (with the reason), or
 * `pending`. A completed card ride whose payment was never created (its completion's charge
 * failed before that) gets it created here.
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
  const existing = await ctx.db
    .select()
    .from(payments)
    .where(and(eq(payments.rideId, ride.id), eq(payments.purpose, "ride")))
    .get();
  if (existing && existing.status !== "failed") throw notRetryable(existing);
  if (!existing && (ride.status !== "completed" || !ride.finalFareCents)) {
    throw new ApiError(
      "payment_not_retryable",
      `The ride is ${ride.status}; only a completed ride is charged`,
    );
  }
  const card = await chosenCard(ctx, passengerId, input.paymentMethodId);
  const payment = existing
    ? await claimRetry(ctx, existing)
    : await createRidePayment(ctx, ride.id, ride.passengerId, ride.finalFareCents ?? 0);
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

/**
 * Charges a pending payment's current attempt on `card` and records the outcome on the payment,
 * the ledger and the passenger's channel. Never throws for the provider's sake: what went wrong
 * becomes the payment's state. Returns the payment as it ends.
 */
async function attemptCharge(
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

// ---------------------------------------------------------------------------------------------
// Who pays: the customer data Efí's card API requires

/**
 * Not collected by the app yet: Efí's one-step charge requires the payer's birth date and a
 * billing address. Outside production these placeholders are sent (a public square in São Paulo,
 * not anyone's address); in production a charge is refused as `customer_data_incomplete` until
 * the app collects both. They are never stored and never presented as the passenger's data.
 */
export const DEV_PLACEHOLDER_BIRTH_DATE = "1990-01-01";
export const DEV_PLACEHOLDER_BILLING_ADDRESS: CardBillingAddress = {
  street: "Praça da Sé",
  number: "1",
  neighborhood: "Sé",
  zipcode: "01001000",
  city: "São Paulo",
  state: "SP",
};

async function cardPayer(
  ctx: ServiceContext,
  userId: string,
): Promise<{ customer: CardCustomer; billingAddress: CardBillingAddress } | { missing: string }> {
  const user = await ctx.db
    .select({ name: users.name, email: users.email, phone: users.phone, cpfCiphertext: users.cpfCiphertext })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!user) return { missing: "user" };
  if (!user.cpfCiphertext) return { missing: "cpf" };
  if (ctx.config.APP_ENV === "production") return { missing: "birth_date, billing_address" };
  const cpf = (await decryptText(ctx.config.CPF_ENCRYPTION_KEY, user.cpfCiphertext)).replace(/\D/g, "");
  return {
    customer: {
      name: user.name,
      cpf,
      email: user.email,
      phone: user.phone,
      birthDate: DEV_PLACEHOLDER_BIRTH_DATE,
    },
    billingAddress: DEV_PLACEHOLDER_BILLING_ADDRESS,
  };
}
