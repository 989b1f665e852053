import { eq, sql } from "drizzle-orm";
import { auditLogs, refunds } from "../../db/schema";
import { EfiError } from "../../integrations/efi/errors";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { noteMoneyMoved } from "../requests/idempotency";
import { efiRefundIdOf } from "./ids";
import { settleRefund } from "./outcome";
import { type PaymentRow, paymentRow, processingCents, type RefundRow, refundRow } from "./reads";
import { refundSource } from "./shares";
import { paymentSummary, REFUNDABLE, type RefundPaymentView, type RefundView, refundView } from "./view";

// Refunds of paid payments (POST /v1/admin/payments/{id}/refund), full or partial.
//
// - Request (`requestRefund`): only a `paid` or `partially_refunded` payment, and never more than
//   what is left: amount − refunded − refunds still processing (422 `refund_exceeds_paid`). The
//   refund row (`processing`) and the audit row are inserted by one batch whose statements carry
//   that rule in SQL, so two admins refunding at once cannot both take the last centavos. Then the
//   provider is asked: a Pix refund is `PUT /v2/pix/:e2eId/devolucao/:id` with our refund id
//   without its underscore (retry-safe: Efí refuses a second refund with that id); a card refund
//   is the card provider's refund, whose success is final.
// - A refusal in the request (a 4xx from Efí) fails the refund at once. No answer or a 5xx leaves
//   it `processing`: Efí may have made it, and its webhook (or `reconcileRefund`) settles it.

export interface RefundRequest {
  paymentId: string;
  /** Omitted: everything still refundable. */
  amountCents?: number;
  /** The staff member asking, for the row and the audit log. */
  actorId: string;
  /** Why, in the admin's words; kept in the audit log. */
  reason?: string;
}

export interface RefundResult {
  refund: RefundView;
  payment: RefundPaymentView;
}

/**
 * Refunds all or part of a paid payment through its provider; see the top of this file. Answers
 * with the refund as it stands after the provider's reply: usually `processing` (a Pix refund
 * settles by webhook), `refunded` (a card refund, or a provider that answered final at once) or
 * `failed` (refused in the request). Throws `not_found`, `payment_not_refundable` (409) or
 * `refund_exceeds_paid` (422) before anything is written.
 */
export async function requestRefund(ctx: ServiceContext, input: RefundRequest): Promise<RefundResult> {
  const payment = await paymentRow(ctx, input.paymentId);
  if (!payment) throw new ApiError("not_found", "No such payment");
  assertRefundable(payment);
  // Fails before Efí is asked when the payment's own posting is missing: nothing could be undone.
  await refundSource(ctx, payment);

  const remaining = payment.amountCents - payment.refundedCents - (await processingCents(ctx, payment.id));
  const amount = input.amountCents ?? remaining;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > remaining) throw exceeds(remaining);

  const now = ctx.now();
  const at = now.toISOString();
  const id = newId("rfd", now.getTime());
  // One batch, each insert guarded in SQL: the refund only if the payment is refundable and the
  // amount fits what is left counting refunds in flight; the audit row only if the refund went in.
  const insertRefund = ctx.db.insert(refunds).select(sql`
    SELECT ${id}, ${payment.id}, ${amount}, 'processing', NULL, NULL, ${input.actorId}, NULL, ${at}, ${at}
     WHERE EXISTS (
       SELECT 1 FROM payments p
        WHERE p.id = ${payment.id}
          AND p.status IN ('paid', 'partially_refunded')
          AND p.amount_cents - p.refunded_cents
              - (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r
                  WHERE r.payment_id = p.id AND r.status = 'processing') >= ${amount})`);
  const audit = ctx.db.insert(auditLogs).select(sql`
    SELECT ${newId("aud", now.getTime())}, ${input.actorId}, 'payment.refund', 'payment', ${payment.id},
           ${JSON.stringify({ status: payment.status, amount_cents: payment.amountCents, refunded_cents: payment.refundedCents })},
           ${JSON.stringify({ refund_id: id, amount_cents: amount, reason: input.reason ?? null })},
           ${ctx.requestId}, ${input.reason ?? null}, ${at}
     WHERE EXISTS (SELECT 1 FROM refunds WHERE id = ${id})`);
  await ctx.db.batch([insertRefund, audit]);

  const inserted = await refundRow(ctx, id);
  if (!inserted) {
    // Another refund or a status change got in between the read and the batch.
    const current = await paymentRow(ctx, payment.id);
    if (!current) throw new ApiError("not_found", "No such payment");
    assertRefundable(current);
    throw exceeds(current.amountCents - current.refundedCents - (await processingCents(ctx, current.id)));
  }

  const settled = await sendToProvider(ctx, payment, inserted);
  return { refund: refundView(settled), payment: await paymentSummary(ctx, payment.id) };
}

function assertRefundable(payment: PaymentRow): void {
  if (!REFUNDABLE.includes(payment.status)) {
    throw new ApiError(
      "payment_not_refundable",
      `The payment is ${payment.status}; only a paid or partially refunded payment can be refunded`,
    );
  }
  if (payment.method === "pix" && !payment.endToEndId) {
    throw new ApiError("payment_not_refundable", "The Pix payment has no end-to-end id to refund");
  }
  if (payment.method === "card" && !payment.cardChargeId) {
    throw new ApiError("payment_not_refundable", "The card payment has no charge to refund");
  }
}

function exceeds(remaining: number): ApiError {
  const left = Math.max(remaining, 0);
  return new ApiError(
    "refund_exceeds_paid",
    `At most ${left} centavos of this payment can be refunded now (paid, less refunded and refunds in progress)`,
    { errors: [{ path: "amount_cents", message: `must be between 1 and ${left}` }] },
  );
}

/**
 * Asks the provider for the refund. A reply that is already final is applied at once; a refusal
 * in the request fails the refund; an unknown outcome leaves it processing (logged).
 */
async function sendToProvider(
  ctx: ServiceContext,
  payment: PaymentRow,
  refund: RefundRow,
): Promise<RefundRow> {
  noteMoneyMoved(ctx); // from here a rerun could return the money twice
  try {
    if (payment.method === "pix") {
      const reply = await ctx.efi.refund({
        e2eId: payment.endToEndId ?? "",
        refundId: efiRefundIdOf(refund.id),
        amountCents: refund.amountCents,
      });
      await ctx.db
        .update(refunds)
        .set({ providerReference: reply.rtrId, updatedAt: ctx.now().toISOString() })
        .where(eq(refunds.id, refund.id));
      if (reply.status === "DEVOLVIDO") await settleRefund(ctx, refund.id, { status: "refunded" });
      if (reply.status === "NAO_REALIZADO") {
        await settleRefund(ctx, refund.id, { status: "failed", reason: reply.reason ?? "efi_nao_realizado" });
      }
    } else {
      await ctx.cards.refund({ chargeId: payment.cardChargeId ?? "", amountCents: refund.amountCents });
      await settleRefund(ctx, refund.id, { status: "refunded" });
    }
  } catch (error) {
    if (isRefusal(error)) {
      await settleRefund(ctx, refund.id, { status: "failed", reason: `efi_${error.code}` });
    } else {
      ctx.log.error("refund outcome unknown; it stays processing until the provider reports", {
        refund_id: refund.id,
        payment_id: payment.id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }
  return (await refundRow(ctx, refund.id)) ?? refund;
}

/**
 * A provider error that says the refund was not made: a 4xx, except a 409 (a refund with this id
 * exists at Efí: ours, from a try whose reply was lost).
 */
function isRefusal(error: unknown): error is EfiError {
  return (
    error instanceof EfiError &&
    !error.outcomeUnknown &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 409
  );
}
