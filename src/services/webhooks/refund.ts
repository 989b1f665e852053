import { EfiError, payoutIdOf } from "../../integrations/efi";
import type { ServiceContext } from "../context";
import { recordPayoutReturn } from "../payouts/returned";
import { refundIdOf } from "../refunds/ids";
import { recordPayerReturn } from "../refunds/med";
import { applyRefundOutcome } from "../refunds/outcome";
import type { StoredRefund, WebhookEventRow } from "./ingest";
import { flag, markProcessed, notYet, type ProcessOutcome } from "./outcome";

/**
 * A devolução (refund) reached its outcome, confirmed by reading Efí's own record first:
 * - of a Pix we received, with one of our refund ids: Efí's refund record is applied to it;
 * - of a Pix we received, with an id that is not ours: the payer's bank took it back (MED), and
 *   it is recorded and posted as a refund of the payment (`recordPayerReturn`);
 * - of one of our payout sends: the receiving bank returned money, which goes back to the driver's
 *   available balance once Efí's send record lists the return (`recordPayoutReturn`).
 */
export async function confirmRefund(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredRefund,
  attempts: number,
): Promise<ProcessOutcome> {
  if (item.of === "sent") return confirmPayoutReturn(ctx, row, item, attempts);
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
    case "unknown_refund": {
      if (refundIdOf(item.refund_id) !== null) {
        return flag(ctx, row, `refund ${item.refund_id} of ${item.e2e_id} is not one of ours`);
      }
      // Not an id we give: the payer's bank returned the Pix (MED). Only a made one moves money.
      if (refund.status !== "DEVOLVIDO") return markProcessed(ctx, row);
      const returned = await recordPayerReturn(ctx, item.e2e_id, refund);
      if (returned.status === "unknown_payment") {
        return flag(
          ctx,
          row,
          `Efí returned ${refund.amountCents} centavos of Pix ${item.e2e_id}, no payment of ours`,
        );
      }
      if (returned.status === "exceeds_payment") {
        return flag(
          ctx,
          row,
          `MED ${item.refund_id} of ${refund.amountCents} centavos exceeds what is left of payment ${returned.paymentId}`,
        );
      }
      return markProcessed(ctx, row);
    }
    case "conflict":
      return flag(
        ctx,
        row,
        `refund ${item.refund_id} is already ${applied.refund.status}; Efí now reports ${refund.status}`,
      );
  }
}

/** Money a receiving bank returned on one of our payout sends, confirmed on Efí's send record. */
async function confirmPayoutReturn(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredRefund,
  attempts: number,
): Promise<ProcessOutcome> {
  const payoutId = item.id_envio ? payoutIdOf(item.id_envio) : null;
  if (!item.id_envio || !payoutId) {
    return flag(ctx, row, `money came back from Pix ${item.e2e_id}, no payout of ours`);
  }
  let send: Awaited<ReturnType<typeof ctx.efi.getPixSend>>;
  try {
    send = await ctx.efi.getPixSend(item.id_envio);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no Pix send ${item.id_envio}`);
    }
    throw error;
  }
  const confirmed = send.returns.find((r) => r.rtrId === item.rtr_id && r.status === "DEVOLVIDO");
  if (!confirmed) {
    return notYet(
      ctx,
      row,
      attempts,
      `Efí's record of Pix send ${item.id_envio} does not list return ${item.rtr_id}`,
    );
  }
  const result = await recordPayoutReturn(ctx, {
    payoutId,
    rtrId: confirmed.rtrId,
    amountCents: confirmed.amountCents,
  });
  switch (result.status) {
    case "applied":
    case "already_applied":
      return markProcessed(ctx, row);
    case "unknown_payout":
      return flag(ctx, row, `money came back from payout Pix ${item.id_envio}, no such payout`);
    case "refused":
      return flag(ctx, row, result.why);
  }
}
