import { and, eq, inArray } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { EfiPixSend, EfiReceivedPix } from "../../integrations/efi";
import type { StoredItem } from "../../integrations/efi/webhook";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import type { ProcessOutcome } from "../webhooks/outcome";
import { processWebhookEvent } from "../webhooks/process";

// What the reconciler learns from Efí becomes the same stored item a webhook would have made
// (one `webhook_events` row, unique by end-to-end id, kind and refund id) and is processed by
// the same `processWebhookEvent` the payments queue runs. So an outcome found by the reconciler
// and one told by a late webhook meet at one row, and the money moves once.

export interface ReconcileItem {
  kind: StoredItem["kind"];
  endToEndId: string;
  subId: string;
  item: StoredItem;
  efi: unknown;
}

/** A Pix Efí lists as received on our key, as the webhook's item. */
export function receivedItemOf(pix: EfiReceivedPix, pixKey: string): ReconcileItem {
  return {
    kind: "pix_received",
    endToEndId: pix.e2eId,
    subId: "",
    item: {
      kind: "pix_received",
      e2e_id: pix.e2eId,
      txid: pix.txid,
      amount_cents: pix.amountCents,
      paid_at: pix.paidAt,
      pix_key: pixKey,
    },
    efi: { source: "reconcile", endToEndId: pix.e2eId, txid: pix.txid, valor_cents: pix.amountCents },
  };
}

/** A final Pix send, as the webhook's item. */
export function sentItemOf(send: EfiPixSend): ReconcileItem | null {
  if (send.status === "EM_PROCESSAMENTO") return null;
  return {
    kind: "pix_sent",
    endToEndId: send.e2eId,
    subId: "",
    item: {
      kind: "pix_sent",
      e2e_id: send.e2eId,
      id_envio: send.idEnvio,
      status: send.status,
      amount_cents: send.amountCents,
      error: null,
    },
    efi: { source: "reconcile", idEnvio: send.idEnvio, status: send.status },
  };
}

/** End-to-end ids among `ids` whose received-Pix row is settled (processed or flagged) already. */
export async function settledReceived(ctx: ServiceContext, ids: string[]): Promise<Set<string>> {
  const settled = new Set<string>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await ctx.db
      .select({ e2e: webhookEvents.endToEndId })
      .from(webhookEvents)
      .where(
        and(
          inArray(webhookEvents.endToEndId, ids.slice(i, i + 90)),
          eq(webhookEvents.kind, "pix_received"),
          inArray(webhookEvents.status, ["processed", "flagged"]),
        ),
      )
      .all();
    for (const row of rows) settled.add(row.e2e);
  }
  return settled;
}

/**
 * Stores the item unless it is stored already, then processes its row if it is still
 * unprocessed. `attempts: 1`: an item Efí does not confirm yet stays `received` for the next run.
 */
export async function storeAndProcess(ctx: ServiceContext, input: ReconcileItem): Promise<ProcessOutcome> {
  const now = ctx.now();
  await ctx.db
    .insert(webhookEvents)
    .values({
      id: newId("whk", now.getTime()),
      kind: input.kind,
      endToEndId: input.endToEndId,
      subId: input.subId,
      payload: JSON.stringify({ item: input.item, efi: input.efi }),
      status: "received",
      detail: null,
      receivedAt: now.toISOString(),
      processedAt: null,
    })
    .onConflictDoNothing();
  const row = await ctx.db
    .select({ id: webhookEvents.id, status: webhookEvents.status })
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.endToEndId, input.endToEndId),
        eq(webhookEvents.kind, input.kind),
        eq(webhookEvents.subId, input.subId),
      ),
    )
    .get();
  if (row?.status !== "received") return { status: "skipped" };
  return processWebhookEvent(ctx, row.id, { attempts: 1 });
}
