import { and, eq, inArray, isNull, lte, or } from "drizzle-orm";
import { type PaymentStatus, payments, rides } from "../../db/schema";
import { type EfiCharge, EfiError, txidOf } from "../../integrations/efi";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import type { RideView } from "../rides/rides";
import { chargeCardRide } from "./cards";

// Pix charges (Efí "cob") for ride payments and driver credit top-ups: the charge side of a
// payment. Who marks a payment paid (the Efí webhook consumer) and the ledger postings
// (ride-payments.ts) live elsewhere.
//
// A payment row comes first, then its Efí charge: the txid is derived from the payment id and
// the attempt (`txidOf`), so creating a charge again after a failure or a lost reply is the same
// PUT at Efí, never a second charge. A charge is stored on the row by a guarded UPDATE (same
// attempt, no txid yet), and a regeneration by one guarded on the attempt it replaces, so racing
// callers end with one charge per attempt and one `payment.qr_generated` each.
//
// - Ride: created when a Pix ride completes (`startRidePayment`). If Efí fails then, the row
//   stays `pending` without a charge; reading the payment creates it (same txid).
// - Expiry: the charge lasts `PIX_CHARGE_TTL_SECONDS`; `expireStaleCharges` (cron) marks lapsed
//   pending charges `expired`. Efí's cob keeps reading `ATIVA` (BCB: status describes the record)
//   but cannot be paid after its expiry. A read reports a lapsed pending charge as `expired` at
//   once, before the cron has run.
// - Regeneration: an expired charge is replaced by a new one on the same payment: attempt + 1,
//   a new txid, a new QR, `pending` again.
// - Top-up: a driver buys prepaid credit (`createCreditTopup`), bounded by TOPUP_MIN/MAX_CENTS.

type PaymentRow = typeof payments.$inferSelect;

/** Prepaid credit top-ups: at least R$ 10,00, at most R$ 1.000,00 each. */
export const TOPUP_MIN_CENTS = 1_000;
export const TOPUP_MAX_CENTS = 100_000;

export interface PixChargeView {
  txid: string | null;
  end_to_end_id: string | null;
  copia_e_cola: string | null;
  qr_code_png: string | null;
  expires_at: string | null;
  /** 1 for the first charge, +1 for each regenerated one. */
  attempt: number;
}

export interface PaymentView {
  id: string;
  purpose: PaymentRow["purpose"];
  status: PaymentStatus;
  method: PaymentRow["method"];
  amount_cents: number;
  refunded_cents: number;
  ride_id: string | null;
  payer_id: string;
  /** The Pix charge; null for a card payment. Its fields are null until the charge exists. */
  pix: PixChargeView | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
}

/** A pending charge whose expiry has passed is expired, whether or not the cron marked it yet. */
function lapsed(row: PaymentRow, now: Date): boolean {
  return row.status === "pending" && row.expiresAt !== null && row.expiresAt <= now.toISOString();
}

export function paymentView(row: PaymentRow, now: Date): PaymentView {
  return {
    id: row.id,
    purpose: row.purpose,
    status: lapsed(row, now) ? "expired" : row.status,
    method: row.method,
    amount_cents: row.amountCents,
    refunded_cents: row.refundedCents,
    ride_id: row.rideId,
    payer_id: row.payerId,
    pix:
      row.method === "pix"
        ? {
            txid: row.txid,
            end_to_end_id: row.endToEndId,
            copia_e_cola: row.copiaECola,
            qr_code_png: row.qrCodePng,
            expires_at: row.expiresAt,
            attempt: row.attempt,
          }
        : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    paid_at: row.paidAt,
  };
}

/** What starting a ride's payment needs to know of the ride. */
type PayableRide = Pick<RideView, "id" | "status" | "passenger_id" | "final_fare_cents">;

/**
 * Starts the payment of a ride that just completed, by its payment method: Pix creates the
 * payment and its charge and sends the passenger the QR (`payment.qr_generated`); card charges
 * the passenger's card (card-payments.ts); cash was settled at completion (nothing to do).
 * Throws if the provider fails; the caller (completeRide) logs it and the completion stands:
 * reading the payment later creates what is missing.
 */
export async function startRidePayment(ctx: ServiceContext, ride: RideView): Promise<void> {
  switch (ride.payment_method) {
    case "pix":
      await startPixRidePayment(ctx, ride);
      return;
    case "card":
      await chargeCardRide(ctx, ride);
      return;
    case "cash":
      return;
  }
}

/**
 * The Pix payment of a completed ride, created once (the partial unique index on `ride_id`
 * turns a second insert into a no-op), with its charge. Returns the row; throws `EfiError` if
 * the charge could not be created, leaving the row pending without a charge.
 */
async function startPixRidePayment(ctx: ServiceContext, ride: PayableRide): Promise<PaymentRow> {
  if (ride.status !== "completed" || !ride.final_fare_cents || ride.final_fare_cents <= 0) {
    throw new Error(
      `ride ${ride.id} is ${ride.status} with fare ${ride.final_fare_cents}: nothing to charge`,
    );
  }
  const now = ctx.now();
  const at = now.toISOString();
  await ctx.db
    .insert(payments)
    .values({
      id: newId("pay", now.getTime()),
      purpose: "ride",
      rideId: ride.id,
      payerId: ride.passenger_id,
      method: "pix",
      status: "pending",
      amountCents: ride.final_fare_cents,
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoNothing()
    .run();
  const row = await ridePaymentRow(ctx, ride.id);
  if (!row) throw new Error(`payment of ride ${ride.id} was neither inserted nor found`);
  return ensureCharge(ctx, row);
}

async function ridePaymentRow(ctx: ServiceContext, rideId: string): Promise<PaymentRow | undefined> {
  return ctx.db
    .select()
    .from(payments)
    .where(and(eq(payments.rideId, rideId), eq(payments.purpose, "ride")))
    .get();
}

async function paymentRow(ctx: ServiceContext, id: string): Promise<PaymentRow | undefined> {
  return ctx.db.select().from(payments).where(eq(payments.id, id)).get();
}

/** The charge's fields as stored on the payment row. */
interface StoredCharge {
  txid: string;
  locId: number | null;
  copiaECola: string;
  qrCodePng: string;
  expiresAt: string;
}

/**
 * Creates (or finds again) the Efí charge of a payment's attempt and reads its QR code. The txid
 * is ours, so a charge Efí already holds under it (409 `txid_duplicado`: an earlier try whose
 * reply was lost, or a racing caller) is this very charge once its amount and key match.
 */
async function createPixCharge(ctx: ServiceContext, row: PaymentRow, attempt: number): Promise<StoredCharge> {
  const txid = txidOf(row.id, attempt);
  let charge: EfiCharge;
  try {
    charge = await ctx.efi.createCharge({
      txid,
      amountCents: row.amountCents,
      expiresInSeconds: ctx.config.PIX_CHARGE_TTL_SECONDS,
      payerInfo: row.purpose === "ride" ? `Corrida ${row.rideId}` : "Recarga de crédito pré-pago",
    });
  } catch (error) {
    if (!(error instanceof EfiError && error.status === 409)) throw error;
    charge = await ctx.efi.getCharge(txid);
    if (charge.amountCents !== row.amountCents || charge.pixKey !== ctx.efi.pixKey) throw error;
  }
  if (charge.locId === null) throw new Error(`Efí charge ${txid} has no location`);
  const qr = await ctx.efi.getQrCode(charge.locId);
  const created = Date.parse(charge.createdAt);
  const expiresAt = new Date(
    (Number.isNaN(created) ? ctx.now().getTime() : created) + charge.expiresInSeconds * 1000,
  ).toISOString();
  return {
    txid,
    locId: charge.locId,
    copiaECola: charge.pixCopiaECola ?? qr.qrcode,
    qrCodePng: qr.imageDataUri,
    expiresAt,
  };
}

/**
 * A pending Pix payment without a charge gets one (for its current attempt), stored only if
 * nobody stored one meanwhile; whoever stores it tells the payer. Anything else is returned as is.
 */
async function ensureCharge(ctx: ServiceContext, row: PaymentRow): Promise<PaymentRow> {
  if (row.method !== "pix" || row.status !== "pending" || row.txid !== null) return row;
  const charge = await createPixCharge(ctx, row, row.attempt);
  const stored = await ctx.db
    .update(payments)
    .set({ ...charge, updatedAt: ctx.now().toISOString() })
    .where(
      and(
        eq(payments.id, row.id),
        eq(payments.attempt, row.attempt),
        eq(payments.status, "pending"),
        isNull(payments.txid),
      ),
    )
    .returning()
    .get();
  if (!stored) return (await paymentRow(ctx, row.id)) ?? row;
  await announceCharge(ctx, stored);
  return stored;
}

/** `payment.qr_generated` to the payer's channel and, for a ride, the ride's sockets. */
async function announceCharge(ctx: ServiceContext, row: PaymentRow): Promise<void> {
  await ctx.publish(
    {
      type: "payment.qr_generated",
      data: {
        payment_id: row.id,
        purpose: row.purpose,
        ride_id: row.rideId,
        amount_cents: row.amountCents,
        txid: row.txid,
        copia_e_cola: row.copiaECola,
        qr_code_png: row.qrCodePng,
        expires_at: row.expiresAt,
        attempt: row.attempt,
      },
    },
    { ride: row.rideId, users: [row.payerId] },
  );
}

/**
 * Tries to give a pending payment its missing charge; a provider failure is logged and the row
 * returned as it is (the next read tries again).
 */
async function healCharge(ctx: ServiceContext, row: PaymentRow): Promise<PaymentRow> {
  try {
    return await ensureCharge(ctx, row);
  } catch (error) {
    logChargeFailure(ctx, "payment.charge_heal_failed", row.id, error);
    return row;
  }
}

function logChargeFailure(ctx: ServiceContext, msg: string, paymentId: string, error: unknown): void {
  ctx.log.error(msg, {
    payment_id: paymentId,
    efi_status: error instanceof EfiError ? error.status : undefined,
    efi_code: error instanceof EfiError ? error.code : undefined,
    error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
  });
}

/** The ride if the user is its passenger or its driver; 404 for anyone else. */
async function rideOfParty(ctx: ServiceContext, user: AuthUser, rideId: string) {
  const ride = await ctx.db.select().from(rides).where(eq(rides.id, rideId)).get();
  if (!ride || (ride.passengerId !== user.id && ride.driverId !== user.id)) {
    throw new ApiError("not_found", "No such ride");
  }
  return ride;
}

/**
 * `GET /v1/rides/{id}/payment`, for the ride's passenger or driver. A completed Pix ride whose
 * payment or charge is missing (Efí failed at completion) gets it now.
 */
export async function getRidePayment(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
): Promise<PaymentView> {
  const ride = await rideOfParty(ctx, user, rideId);
  let row = await ridePaymentRow(ctx, ride.id);
  if (!row && ride.status === "completed" && ride.paymentMethod === "pix") {
    try {
      row = await startPixRidePayment(ctx, {
        id: ride.id,
        status: ride.status,
        passenger_id: ride.passengerId,
        final_fare_cents: ride.finalFareCents,
      });
    } catch (error) {
      logChargeFailure(ctx, "payment.ride_start_failed", ride.id, error);
      row = await ridePaymentRow(ctx, ride.id);
    }
  } else if (row) {
    row = await healCharge(ctx, row);
  }
  if (!row) throw new ApiError("payment_not_found", "This ride has no payment");
  return paymentView(row, ctx.now());
}

/**
 * `POST /v1/rides/{id}/payment/regenerate`: a payable Pix charge for the ride. An expired charge
 * (or a pending one past its expiry) is replaced: attempt + 1, new txid, new QR, `pending`,
 * `payment.qr_generated` again. A charge still payable is returned as it is, and a missing one
 * is created, so a retry or a racing second call gets the same charge. Paid, refunded or failed
 * payments cannot be regenerated (`payment_not_pending`), nor card payments (`payment_not_pix`).
 */
export async function regenerateRidePayment(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
): Promise<PaymentView> {
  await rideOfParty(ctx, user, rideId);
  const row = await ridePaymentRow(ctx, rideId);
  if (!row) throw new ApiError("payment_not_found", "This ride has no payment");
  return paymentView(await regenerate(ctx, row), ctx.now());
}

async function regenerate(ctx: ServiceContext, row: PaymentRow): Promise<PaymentRow> {
  if (row.method !== "pix") throw new ApiError("payment_not_pix", "Only a Pix charge can be regenerated");
  if (row.status !== "pending" && row.status !== "expired") {
    throw new ApiError("payment_not_pending", `The payment is ${row.status}`);
  }
  const now = ctx.now();
  if (row.status === "pending" && !lapsed(row, now)) {
    // Still payable, or never charged: the current attempt's charge is the answer.
    try {
      return await ensureCharge(ctx, row);
    } catch (error) {
      throw providerUnavailable(ctx, row.id, error);
    }
  }
  const attempt = row.attempt + 1;
  let charge: StoredCharge;
  try {
    charge = await createPixCharge(ctx, row, attempt);
  } catch (error) {
    throw providerUnavailable(ctx, row.id, error);
  }
  const nowIso = ctx.now().toISOString();
  const stored = await ctx.db
    .update(payments)
    .set({ ...charge, attempt, status: "pending", updatedAt: nowIso })
    .where(
      and(
        eq(payments.id, row.id),
        eq(payments.attempt, row.attempt),
        isNull(payments.endToEndId),
        or(
          eq(payments.status, "expired"),
          and(eq(payments.status, "pending"), lte(payments.expiresAt, now.toISOString())),
        ),
      ),
    )
    .returning()
    .get();
  if (stored) {
    await announceCharge(ctx, stored);
    return stored;
  }
  // Someone else regenerated it (same attempt, so the same charge), or it was paid meanwhile.
  const current = await paymentRow(ctx, row.id);
  if (!current) throw new Error(`payment ${row.id} vanished`);
  if (current.status !== "pending" && current.status !== "expired") {
    throw new ApiError("payment_not_pending", `The payment is ${current.status}`);
  }
  return current;
}

function providerUnavailable(ctx: ServiceContext, paymentId: string, error: unknown): ApiError {
  logChargeFailure(ctx, "payment.charge_failed", paymentId, error);
  return new ApiError(
    "payment_provider_unavailable",
    "The Pix provider could not create the charge; try again shortly",
    { headers: { "retry-after": "5" } },
  );
}

/**
 * `POST /v1/wallet/credit/topups`: a Pix charge for `amountCents` of prepaid credit. The credit
 * moves when Efí confirms the payment (the webhook consumer calls `recordCreditTopup`). If Efí
 * cannot create the charge, the payment is marked failed (nobody ever saw its QR code) and the
 * caller gets 503; the route's Idempotency-Key is freed, so a retry makes a fresh top-up.
 */
export async function createCreditTopup(
  ctx: ServiceContext,
  driverId: string,
  amountCents: number,
): Promise<PaymentView> {
  if (amountCents < TOPUP_MIN_CENTS || amountCents > TOPUP_MAX_CENTS) {
    throw new ApiError(
      "topup_amount_out_of_range",
      `A top-up is between ${TOPUP_MIN_CENTS} and ${TOPUP_MAX_CENTS} centavos; asked for ${amountCents}`,
      { errors: [{ path: "amount_cents", message: `must be ${TOPUP_MIN_CENTS}..${TOPUP_MAX_CENTS}` }] },
    );
  }
  const now = ctx.now();
  const at = now.toISOString();
  const row = await ctx.db
    .insert(payments)
    .values({
      id: newId("pay", now.getTime()),
      purpose: "credit_topup",
      rideId: null,
      payerId: driverId,
      method: "pix",
      status: "pending",
      amountCents,
      createdAt: at,
      updatedAt: at,
    })
    .returning()
    .get();
  try {
    return paymentView(await ensureCharge(ctx, row), ctx.now());
  } catch (error) {
    await ctx.db
      .update(payments)
      .set({ status: "failed", failureReason: "charge_creation_failed", updatedAt: ctx.now().toISOString() })
      .where(and(eq(payments.id, row.id), eq(payments.status, "pending"), isNull(payments.txid)))
      .run();
    throw providerUnavailable(ctx, row.id, error);
  }
}

/**
 * `GET /v1/payments/{id}`: a payment for its payer, or for a ride payment also the ride's driver.
 * Anyone else gets 404. A pending Pix payment without its charge gets it now.
 */
export async function getPayment(
  ctx: ServiceContext,
  user: AuthUser,
  paymentId: string,
): Promise<PaymentView> {
  const row = await paymentRow(ctx, paymentId);
  let visible = row?.payerId === user.id;
  if (row && !visible && row.rideId) {
    const ride = await ctx.db
      .select({ driverId: rides.driverId })
      .from(rides)
      .where(eq(rides.id, row.rideId))
      .get();
    visible = ride?.driverId === user.id;
  }
  if (!row || !visible) throw new ApiError("payment_not_found", "No such payment");
  return paymentView(await healCharge(ctx, row), ctx.now());
}

export interface ExpiryReport {
  expired: number;
  batches: number;
  /** True when the run stopped at `maxBatches` with more possibly left for the next run. */
  more: boolean;
}

/**
 * Marks pending Pix charges whose expiry is at or before `now` as `expired`, `batchSize` at a
 * time and at most `maxBatches` batches per run (the next run takes the rest). Each batch is one
 * guarded UPDATE (`status = 'pending' AND expires_at <= now`), so running it twice, or racing a
 * payment or a regeneration, changes nothing twice and never expires a paid or renewed charge.
 * Efí's cob is left alone: it keeps reading ATIVA and refuses payment once expired.
 */
export async function expireStaleCharges(
  ctx: ServiceContext,
  options: { now?: Date; batchSize?: number; maxBatches?: number } = {},
): Promise<ExpiryReport> {
  const now = (options.now ?? ctx.now()).toISOString();
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 25;
  let expired = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const due = ctx.db
      .select({ id: payments.id })
      .from(payments)
      .where(and(eq(payments.status, "pending"), lte(payments.expiresAt, now)))
      .limit(batchSize);
    const rows = await ctx.db
      .update(payments)
      .set({ status: "expired", updatedAt: now })
      .where(and(inArray(payments.id, due), eq(payments.status, "pending"), lte(payments.expiresAt, now)))
      .returning({ id: payments.id })
      .all();
    batches += 1;
    expired += rows.length;
    if (rows.length < batchSize) return { expired, batches, more: false };
  }
  return { expired, batches, more: true };
}

/**
 * The payment a txid belongs to, whatever its attempt (the row holds only the latest txid): a Pix
 * paid against an earlier, regenerated charge is still this payment's. Inverse of `txidOf`.
 */
export function paymentIdOfTxid(txid: string): string | null {
  const match = /^pay([0-9A-HJKMNP-TV-Z]{26})a\d+$/.exec(txid);
  return match ? `pay_${match[1]}` : null;
}
