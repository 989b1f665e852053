import { and, eq, isNull, lte, or } from "drizzle-orm";
import { payments } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import {
  announceCharge,
  createPixCharge,
  ensureCharge,
  providerUnavailable,
  type StoredCharge,
} from "./pix-charge";
import { rideOfParty } from "./read";
import { type PaymentRow, paymentRow, ridePaymentRow } from "./rows";
import { lapsed, type PaymentView, paymentView } from "./view";

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
