import { and, eq, isNull } from "drizzle-orm";
import { payments } from "../../db/schema";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { ensureCharge, providerUnavailable } from "./pix-charge";
import { type PaymentView, paymentView } from "./view";

/** Prepaid credit top-ups: at least R$ 10,00, at most R$ 1.000,00 each. */
export const TOPUP_MIN_CENTS = 1_000;
export const TOPUP_MAX_CENTS = 100_000;

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
