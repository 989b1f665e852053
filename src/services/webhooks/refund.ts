import { EfiError } from "../../integrations/efi";
import type { ServiceContext } from "../context";
import { applyRefundOutcome } from "../refunds/outcome";
import type { StoredRefund, WebhookEventRow } from "./ingest";
import { flag, markProcessed, notYet, type ProcessOutcome } from "./outcome";

/**
 * A devolução (refund) reached its outcome. A refund of a received Pix is one we asked for: Efí's
 * refund record is applied to it. Money coming back from one of our payout Pix sends is nothing
 * we asked for, so it is flagged for a person.
 */
export async function confirmRefund(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredRefund,
  attempts: number,
): Promise<ProcessOutcome> {
  if (item.of === "sent") {
    return flag(
      ctx,
      row,
      `money came back from payout Pix ${item.id_envio ?? item.e2e_id} (refund ${item.refund_id}, ${item.amount_cents} centavos): for a person`,
    );
  }
  let refund: Awaited<ReturnType<typeof ctx.efi.getRefund>>;
  try {
    refund = await ctx.efi.getRefund(item.e2e_id, item.refund_id);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no refund ${item.refund_id} of ${item.e2e_id}`);
    }
    throw error;
  }
  if (refund.status === "EM_PROCESSAMENTO") {
    return notYet(ctx, row, attempts, `Efí still shows refund ${item.refund_id} in processing`);
  }
  const applied = await applyRefundOutcome(ctx, {
    endToEndId: item.e2e_id,
    refundId: item.refund_id,
    status: refund.status,
    reason: refund.reason,
  });
  switch (applied.status) {
    case "applied":
    case "already_applied":
      return markProcessed(ctx, row);
    case "unknown_refund":
      return flag(ctx, row, `refund ${item.refund_id} of ${item.e2e_id} is not one of ours`);
    case "conflict":
      return flag(
        ctx,
        row,
        `refund ${item.refund_id} is already ${applied.refund.status}; Efí now reports ${refund.status}`,
      );
  }
}
