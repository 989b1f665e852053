import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import { parseEfiNotification, type StoredItem, StoredPayload } from "../../integrations/efi/webhook";
import type { Config } from "../../lib/config";
import { timingSafeEqual } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

export type {
  StoredItem,
  StoredPixReceived,
  StoredPixSent,
  StoredRefund,
} from "../../integrations/efi/webhook";

import { type PaymentsQueueMessage as PaymentsMessage, PaymentsQueueMessage } from "../queue-messages";

// Efí's Pix webhook, the intake half: authenticate the sender, parse every item, store each
// item once in `webhook_events` and queue the new ones. Nothing here trusts the body beyond
// "something may have happened": the payments queue consumer (`processWebhookEvent`) confirms
// each item against Efí's API before any money moves.

export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookEventKind = WebhookEventRow["kind"];

// ---------------------------------------------------------------------------------------------
// Authentication

/**
 * A Worker cannot check Efí's client certificate, so the webhook is registered in skip-mTLS mode
 * and authenticated by the `hmac` query secret (compared in constant time) and, when configured,
 * the sender address (`cf-connecting-ip`, set by Cloudflare's edge, not by the client). The
 * address is checked first: from elsewhere the secret cannot even be probed.
 */
export function verifyEfiSender(
  config: Pick<Config, "EFI_WEBHOOK_HMAC_SECRET" | "EFI_WEBHOOK_ALLOWED_IPS">,
  input: { hmac: string | undefined; senderIp: string | undefined },
): void {
  const allowed = config.EFI_WEBHOOK_ALLOWED_IPS;
  if (allowed.length > 0 && !(input.senderIp && allowed.includes(input.senderIp.trim()))) {
    throw new ApiError("webhook_forbidden", "Notifications are accepted only from Efí's addresses");
  }
  if (!input.hmac || !timingSafeEqual(input.hmac, config.EFI_WEBHOOK_HMAC_SECRET)) {
    throw new ApiError("webhook_unauthorized", "The hmac query parameter is missing or wrong");
  }
}

// ---------------------------------------------------------------------------------------------
// Storing once, queueing the new

/** Rows per INSERT: 8 columns each stays under D1's 100 bound parameters. */
const ROWS_PER_INSERT = 10;
/** `sendBatch` takes at most 100 messages. */
const MESSAGES_PER_SEND = 100;
/**
 * A stored row still `received` this long after it was stored is re-queued when Efí delivers its
 * item again: its message was lost (a crash between storing and queueing, a message that ran out
 * of retries). Younger rows are in flight; concurrent copies of one delivery queue nothing twice.
 */
export const REQUEUE_AFTER_MS = 60_000;

export interface IngestResult {
  /** Items in the notification that we keep (final outcomes). */
  items: number;
  /** Of those, the ones seen for the first time now (stored and queued). */
  stored: number;
}

/**
 * Parses a verified notification, stores each item once (`INSERT … ON CONFLICT DO NOTHING
 * RETURNING`: the unique index on end-to-end id, kind and refund id decides, so concurrent or
 * replayed deliveries store nothing twice) and queues the rows stored now, plus any row of these
 * items stored earlier that is still unprocessed after `REQUEUE_AFTER_MS` (its message was lost:
 * Efí's redelivery or `reenviar` must not be swallowed by the dedup). If queueing fails, the rows
 * stored now are removed again and the error answers 500, so Efí's retry stores and queues them.
 */
export async function ingestEfiNotification(ctx: ServiceContext, bodyText: string): Promise<IngestResult> {
  const parsed = parseEfiNotification(bodyText);
  if (parsed.probe) {
    ctx.log.info("efi_webhook.probe");
    return { items: 0, stored: 0 };
  }
  const now = ctx.now();
  const receivedAt = now.toISOString();
  const values = parsed.rows.map((row) => ({
    id: newId("whk", now.getTime()),
    kind: row.kind,
    endToEndId: row.endToEndId,
    subId: row.subId,
    payload: JSON.stringify({ item: row.item, efi: row.efi }),
    status: "received" as const,
    detail: null,
    receivedAt,
    processedAt: null,
  }));
  let fresh: { id: string; kind: WebhookEventKind }[] = [];
  if (values.length > 0) {
    const inserts = chunk(values, ROWS_PER_INSERT).map((rows) =>
      ctx.db
        .insert(webhookEvents)
        .values(rows)
        .onConflictDoNothing()
        .returning({ id: webhookEvents.id, kind: webhookEvents.kind }),
    );
    const results = await ctx.db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
    fresh = results.flat();
  }
  const stale = fresh.length < values.length ? await staleUnprocessed(ctx, values, now) : [];
  if (fresh.length > 0) {
    try {
      await enqueueWebhookEvents(ctx, fresh);
    } catch (error) {
      await ctx.db
        .delete(webhookEvents)
        .where(
          and(
            inArray(
              webhookEvents.id,
              fresh.map((row) => row.id),
            ),
            eq(webhookEvents.status, "received"),
          ),
        )
        .catch((cleanup) =>
          ctx.log.error("efi_webhook.unqueued_rows_left", {
            ids: fresh.map((row) => row.id).join(","),
            error: cleanup instanceof Error ? cleanup.message : String(cleanup),
          }),
        );
      throw error;
    }
  }
  if (stale.length > 0) {
    // Already stored but never processed: queue them again (the row's status guards the rest).
    await enqueueWebhookEvents(ctx, stale);
    ctx.log.warn("efi_webhook.requeued", { ids: stale.map((row) => row.id).join(",") });
  }
  ctx.log.info("efi_webhook.received", {
    items: values.length,
    stored: fresh.length,
    requeued: stale.length,
    ignored: parsed.ignored,
  });
  return { items: values.length, stored: fresh.length };
}

/** Rows of these items stored before, still `received` after `REQUEUE_AFTER_MS`. */
async function staleUnprocessed(
  ctx: ServiceContext,
  values: { kind: WebhookEventKind; endToEndId: string; subId: string }[],
  now: Date,
): Promise<{ id: string; kind: WebhookEventKind }[]> {
  const wanted = new Set(values.map((v) => `${v.endToEndId}|${v.kind}|${v.subId}`));
  const before = new Date(now.getTime() - REQUEUE_AFTER_MS).toISOString();
  const out: { id: string; kind: WebhookEventKind }[] = [];
  for (const ids of chunk([...new Set(values.map((v) => v.endToEndId))], 90)) {
    const rows = await ctx.db
      .select({
        id: webhookEvents.id,
        kind: webhookEvents.kind,
        endToEndId: webhookEvents.endToEndId,
        subId: webhookEvents.subId,
      })
      .from(webhookEvents)
      .where(
        and(
          inArray(webhookEvents.endToEndId, ids),
          eq(webhookEvents.status, "received"),
          lt(webhookEvents.receivedAt, before),
        ),
      )
      .all();
    for (const row of rows) {
      if (wanted.has(`${row.endToEndId}|${row.kind}|${row.subId}`)) out.push({ id: row.id, kind: row.kind });
    }
  }
  return out;
}

/** Queues stored rows for the payments consumer (each message parsed before it is sent). */
export async function enqueueWebhookEvents(
  ctx: ServiceContext,
  rows: { id: string; kind: WebhookEventKind }[],
): Promise<void> {
  const bodies: PaymentsMessage[] = rows.map((row) =>
    PaymentsQueueMessage.parse({ type: "efi.webhook_item", event_id: row.id, kind: row.kind }),
  );
  for (const part of chunk(bodies, MESSAGES_PER_SEND)) {
    await ctx.env.PAYMENTS_QUEUE.sendBatch(part.map((body) => ({ body, contentType: "json" as const })));
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Flagged items, for a person

export interface FlaggedWebhookEventView {
  id: string;
  kind: WebhookEventKind;
  end_to_end_id: string;
  refund_id: string | null;
  /** Why it was flagged, e.g. "amount mismatch: …", "duplicate payment: …", "unknown txid …". */
  detail: string | null;
  /** The item as we stored it (centavos, our field names); null if unreadable. */
  item: StoredItem | null;
  received_at: string;
  flagged_at: string | null;
}

/** Flagged webhook items, newest first: money that arrived or left and needs a person. */
export async function listFlaggedWebhookEvents(ctx: ServiceContext, page: PageQuery) {
  const flagged = eq(webhookEvents.status, "flagged");
  const rows = await ctx.db
    .select()
    .from(webhookEvents)
    .where(page.cursor ? and(flagged, lt(webhookEvents.id, page.cursor)) : flagged)
    .orderBy(desc(webhookEvents.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(flaggedView), next_cursor };
}

function flaggedView(row: WebhookEventRow): FlaggedWebhookEventView {
  return {
    id: row.id,
    kind: row.kind,
    end_to_end_id: row.endToEndId,
    refund_id: row.subId || null,
    detail: row.detail,
    item: readStoredItem(row),
    received_at: row.receivedAt,
    flagged_at: row.processedAt,
  };
}

/** The row's normalised item, or null when the payload cannot be read (never expected). */
export function readStoredItem(row: Pick<WebhookEventRow, "payload">): StoredItem | null {
  try {
    const parsed = StoredPayload.safeParse(JSON.parse(row.payload));
    return parsed.success ? parsed.data.item : null;
  } catch {
    return null;
  }
}
