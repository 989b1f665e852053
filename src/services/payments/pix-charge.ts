import { and, eq, isNull } from "drizzle-orm";
import { payments } from "../../db/schema";
import { type EfiCharge, EfiError, txidOf } from "../../integrations/efi";
import { paymentPoint } from "../../lib/metrics";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { type PaymentRow, paymentRow } from "./rows";

// Pix charges (Efí "cob") for ride payments and driver credit top-ups: the charge side of a
// payment. Marking a payment paid is the Efí webhook consumer's job, and the ledger postings
// are the ledger service's.
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

/** The charge's fields as stored on the payment row. */
export interface StoredCharge {
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
export async function createPixCharge(
  ctx: ServiceContext,
  row: PaymentRow,
  attempt: number,
): Promise<StoredCharge> {
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
export async function ensureCharge(ctx: ServiceContext, row: PaymentRow): Promise<PaymentRow> {
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
  ctx.metrics.record(paymentPoint("created", row));
  await announceCharge(ctx, stored);
  return stored;
}

/** `payment.qr_generated` to the payer's channel and, for a ride, the ride's sockets. */
export async function announceCharge(ctx: ServiceContext, row: PaymentRow): Promise<void> {
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
export async function healCharge(ctx: ServiceContext, row: PaymentRow): Promise<PaymentRow> {
  try {
    return await ensureCharge(ctx, row);
  } catch (error) {
    logChargeFailure(ctx, "payment.charge_heal_failed", row.id, error);
    return row;
  }
}

export function logChargeFailure(ctx: ServiceContext, msg: string, paymentId: string, error: unknown): void {
  ctx.log.error(msg, {
    payment_id: paymentId,
    efi_status: error instanceof EfiError ? error.status : undefined,
    efi_code: error instanceof EfiError ? error.code : undefined,
    error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
  });
}

/** Logs why a charge could not be created and answers 503, retryable shortly. */
export function providerUnavailable(ctx: ServiceContext, paymentId: string, error: unknown): ApiError {
  logChargeFailure(ctx, "payment.charge_failed", paymentId, error);
  return new ApiError(
    "payment_provider_unavailable",
    "The Pix provider could not create the charge; try again shortly",
    { headers: { "retry-after": "5" } },
  );
}
