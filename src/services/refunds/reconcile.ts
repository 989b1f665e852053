import type { ServiceContext } from "../context";
import { efiRefundIdOf } from "./ids";
import { applyRefundOutcome, type RefundOutcomeResult } from "./outcome";
import { paymentRow, refundRow } from "./reads";
import { type RefundView, refundView } from "./view";

/**
 * Reads a processing Pix refund back from Efí and applies its status when final; for a refund
 * whose webhook never came (and for tests against a sandbox that settles inline).
 */
export async function reconcileRefund(
  ctx: ServiceContext,
  refundId: string,
): Promise<RefundOutcomeResult | { status: "processing"; refund: RefundView }> {
  const row = await refundRow(ctx, refundId);
  const payment = row ? await paymentRow(ctx, row.paymentId) : undefined;
  if (!row || payment?.method !== "pix" || !payment.endToEndId) return { status: "unknown_refund" };
  if (row.status !== "processing") return { status: "already_applied", refund: refundView(row) };
  const efi = await ctx.efi.getRefund(payment.endToEndId, efiRefundIdOf(row.id));
  if (efi.status === "EM_PROCESSAMENTO") return { status: "processing", refund: refundView(row) };
  return applyRefundOutcome(ctx, {
    endToEndId: payment.endToEndId,
    refundId: row.id,
    status: efi.status,
    reason: efi.reason,
  });
}
