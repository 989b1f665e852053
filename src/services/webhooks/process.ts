import { eq } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { ServiceContext } from "../context";
import { flaggedPixRefundOf, settleFlaggedPixRefund } from "../reconcile/flagged-pix-refund";
import { readStoredItem } from "./ingest";
import { flag, markProcessed, type ProcessOutcome } from "./outcome";
import { confirmReceivedPix } from "./pix-received";
import { confirmPixSent } from "./pix-sent";
import { confirmRefund } from "./refund";

// Efí's webhook items, the processing half (run by the payments queue consumer). A webhook is a
// hint: every item is confirmed by reading Efí's own record (the charge, the refund, the Pix
// send) and only Efí's answer moves money. Each stored item ends `processed` or `flagged` by one
// conditional UPDATE (`… WHERE status = 'received'`), so a redelivered message does nothing; the
// money steps under it are idempotent on their own (ledger keys, the payment's guarded UPDATE,
// the payout's single-outcome trigger), so two consumers racing on one item post once.

/**
 * Processes one stored webhook item. `attempts` is the queue delivery count (1 on the first):
 * once Efí has not confirmed an item after `CONFIRM_ATTEMPTS` deliveries it is flagged instead
 * of retried. Errors that may pass (Efí unreachable, D1) are thrown for the queue to retry.
 */
export async function processWebhookEvent(
  ctx: ServiceContext,
  eventId: string,
  options: { attempts: number },
): Promise<ProcessOutcome> {
  const row = await ctx.db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).get();
  if (row?.status !== "received") return { status: "skipped" };
  const item = readStoredItem(row);
  if (!item) return flag(ctx, row, "unreadable payload");
  switch (item.kind) {
    case "pix_received":
      return confirmReceivedPix(ctx, row, item, options.attempts);
    case "refund": {
      // A refund of a flagged Pix (no payment behind it) is settled on its own row.
      const flagged = item.of === "received" ? await flaggedPixRefundOf(ctx, item.refund_id) : undefined;
      if (!flagged) return confirmRefund(ctx, row, item, options.attempts);
      const refund = await ctx.efi.getRefund(item.e2e_id, item.refund_id);
      if (refund.status === "EM_PROCESSAMENTO") return { status: "retry", detail: "refund in processing" };
      const applied = await settleFlaggedPixRefund(ctx, flagged.id, refund.status, refund.reason);
      return applied === "conflict"
        ? flag(
            ctx,
            row,
            `flagged Pix refund ${flagged.id} is already ${flagged.status}; Efí reports ${refund.status}`,
          )
        : markProcessed(ctx, row);
    }
    case "pix_sent":
      return confirmPixSent(ctx, row, item, options.attempts);
  }
}
