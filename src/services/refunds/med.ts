import { eq, sql } from "drizzle-orm";
import { payments, refunds, rides } from "../../db/schema";
import type { EfiRefund } from "../../integrations/efi";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import { settleRefund } from "./outcome";
import type { RefundView } from "./view";

// A devolução we did not ask for: the payer's bank took a received Pix back through the Pix
// Special Return Mechanism (MED), after a fraud claim or an operational failure. The money has
// already left our Efí account when Efí reports it, so nothing here is a decision: it is recorded
// as a refund of the payment (`requested_by` null, `reason` starting `med:`) and settled through
// the same posting as any refund (`refund:<id>`, lines in ./shares): the passenger's payment is
// reduced, the driver's share is taken back from `available` (into debt if he was already paid
// out; the next earnings recover it) and the commission is reversed. The row is keyed by Efí's
// rtrId (unique), so a webhook told twice, or a webhook and the reconciler, record it once.

export type PayerReturnResult =
  | { status: "applied" | "already_applied"; refund: RefundView; paymentId: string }
  /** No Pix payment of ours has this end-to-end id. */
  | { status: "unknown_payment" }
  /** More than what is left of the payment: a person must look (the sum Efí allows never is). */
  | { status: "exceeds_payment"; paymentId: string };

/**
 * Records and posts a devolução Efí reports as `DEVOLVIDO` on a Pix we received, whose id is not
 * one of our refunds. Idempotent: see the top of this file.
 */
export async function recordPayerReturn(
  ctx: ServiceContext,
  e2eId: string,
  returned: EfiRefund,
): Promise<PayerReturnResult> {
  const payment = await ctx.db.select().from(payments).where(eq(payments.endToEndId, e2eId)).get();
  if (payment?.method !== "pix") return { status: "unknown_payment" };

  const now = ctx.now();
  const at = now.toISOString();
  const id = newId("rfd", now.getTime());
  const reason = `med: ${returned.reason ?? "devolução solicitada pelo banco do pagador"}`.slice(0, 500);
  // Guarded like an admin's refund: only within what is left of the payment, counting refunds
  // in flight; and once per rtrId (the unique index makes a second insert do nothing).
  await ctx.db.run(sql`
    INSERT INTO refunds (id, payment_id, amount_cents, status, provider_reference, reason,
                         requested_by, ledger_transaction_id, created_at, updated_at)
    SELECT ${id}, ${payment.id}, ${returned.amountCents}, 'processing', ${returned.rtrId}, ${reason},
           NULL, NULL, ${at}, ${at}
     WHERE EXISTS (
       SELECT 1 FROM payments p
        WHERE p.id = ${payment.id}
          AND p.status IN ('paid', 'partially_refunded')
          AND p.amount_cents - p.refunded_cents
              - (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r
                  WHERE r.payment_id = p.id AND r.status = 'processing') >= ${returned.amountCents})
    ON CONFLICT (provider_reference) DO NOTHING`);
  const row = await ctx.db.select().from(refunds).where(eq(refunds.providerReference, returned.rtrId)).get();
  if (!row) return { status: "exceeds_payment", paymentId: payment.id };

  const settled = await settleRefund(ctx, row.id, { status: "refunded" });
  if (settled.status === "unknown_refund" || settled.status === "conflict") {
    throw new Error(`MED refund ${row.id} could not be settled: ${settled.status}`);
  }
  if (settled.status === "applied") await announceReversal(ctx, payment, settled.refund);
  return { status: settled.status, refund: settled.refund, paymentId: payment.id };
}

/** Tells the passenger and the ride's driver; the driver's wallet was announced by the posting. */
async function announceReversal(
  ctx: ServiceContext,
  payment: typeof payments.$inferSelect,
  refund: RefundView,
): Promise<void> {
  const ride = payment.rideId
    ? await ctx.db.select({ driverId: rides.driverId }).from(rides).where(eq(rides.id, payment.rideId)).get()
    : undefined;
  const driverId = ride?.driverId ?? null;
  await ctx.publish(
    {
      type: "payment.reversed",
      data: {
        payment_id: payment.id,
        ride_id: payment.rideId,
        payer_id: payment.payerId,
        driver_id: driverId,
        refund_id: refund.id,
        amount_cents: refund.amount_cents,
        reason: "med",
      },
    },
    { users: [payment.payerId, driverId] },
  );
}
