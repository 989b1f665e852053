import { and, eq } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { WebhookEventRow } from "./ingest";

// How a stored webhook item ends. Each ends `processed` or `flagged` by one conditional UPDATE
// (`… WHERE status = 'received'`), so a redelivered message does nothing.

/** Reads of Efí that do not yet show what the webhook announced are retried this many times. */
export const CONFIRM_ATTEMPTS = 5;

export type ProcessOutcome =
  | { status: "processed" }
  | { status: "flagged"; detail: string }
  /** Already processed or flagged (a redelivery), or no such row. */
  | { status: "skipped" }
  /** Efí does not show it yet: try again later (the consumer retries with backoff). */
  | { status: "retry"; detail: string };

export async function markProcessed(ctx: ServiceContext, row: WebhookEventRow): Promise<ProcessOutcome> {
  await settle(ctx, row, "processed", null);
  return { status: "processed" };
}

/** Flagged for a person (GET /v1/admin/payments/flagged); nothing was credited. */
export async function flag(
  ctx: ServiceContext,
  row: WebhookEventRow,
  detail: string,
): Promise<ProcessOutcome> {
  const changed = await settle(ctx, row, "flagged", detail);
  if (changed) {
    ctx.metrics.record({ event: "payment", stage: "flagged", method: "pix", purpose: row.kind });
    ctx.log.error("efi_webhook.flagged", {
      event_id: row.id,
      kind: row.kind,
      e2e_id: row.endToEndId,
      detail,
    });
  }
  return { status: "flagged", detail };
}

/** Efí does not confirm it yet: retry, or flag once `attempts` reaches `CONFIRM_ATTEMPTS`. */
export function notYet(ctx: ServiceContext, row: WebhookEventRow, attempts: number, detail: string) {
  if (attempts >= CONFIRM_ATTEMPTS) {
    return flag(ctx, row, `not confirmed by Efí after ${attempts} attempts: ${detail}`);
  }
  return Promise.resolve<ProcessOutcome>({ status: "retry", detail });
}

async function settle(
  ctx: ServiceContext,
  row: WebhookEventRow,
  status: "processed" | "flagged",
  detail: string | null,
): Promise<boolean> {
  const changed = await ctx.db
    .update(webhookEvents)
    .set({ status, detail: detail?.slice(0, 1000) ?? null, processedAt: ctx.now().toISOString() })
    .where(and(eq(webhookEvents.id, row.id), eq(webhookEvents.status, "received")))
    .returning({ id: webhookEvents.id })
    .all();
  return changed.length > 0;
}
