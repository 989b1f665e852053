import * as Sentry from "@sentry/cloudflare";
import type { ServiceContext } from "../services/context";
import { SETTLEMENT_PAGE_SIZE, SettlementsQueueMessage } from "../services/queue-messages";
import { dueSettlementIds, releaseSettlements } from "../services/settlements/release";
import { parseOrDeadLetter } from "./dead-letters";
import { describeError, retryDelaySeconds } from "./retry";

// ---------------------------------------------------------------------------------------------
// Producer: due settlements, in pages of ids, onto the settlements queue.

/** Pages one invocation reads before handing the rest on (D1 allows 1,000 queries per invocation). */
export const MAX_PAGES_PER_INVOCATION = 200;
/** `sendBatch` takes at most 100 messages and 256 KB in all; 50 pages of ids stay well inside. */
const SEND_BATCH_MAX = 50;

export interface EnqueueResult {
  /** Release messages sent. */
  pages: number;
  /** Settlement ids in them. */
  settlements: number;
  /** Set when the page budget ran out: a scan message carries on after this id. */
  continuedAfter: string | null;
}

/**
 * Sends one `settlement.release` message per page of due settlements (scheduled, due on or before
 * `businessDate`), paging by id after `afterId`. Bounded: after `maxPages` pages it sends a
 * `settlement.scan` message so the queue consumer carries on. Running it twice sends the same
 * pages twice, which releases nothing twice (each release is idempotent).
 */
export async function enqueueDueSettlements(
  ctx: ServiceContext,
  businessDate: string,
  options: { afterId?: string; pageSize?: number; maxPages?: number } = {},
): Promise<EnqueueResult> {
  const pageSize = Math.max(1, Math.min(options.pageSize ?? SETTLEMENT_PAGE_SIZE, SETTLEMENT_PAGE_SIZE));
  const maxPages = options.maxPages ?? MAX_PAGES_PER_INVOCATION;
  const outbox: SettlementsQueueMessage[] = [];
  const result: EnqueueResult = { pages: 0, settlements: 0, continuedAfter: null };
  let after = options.afterId;
  let exhausted = false;
  while (result.pages < maxPages) {
    const ids = await dueSettlementIds(ctx, businessDate, pageSize, after);
    if (ids.length > 0) {
      outbox.push({ type: "settlement.release", settlement_ids: ids, business_date: businessDate });
      result.pages += 1;
      result.settlements += ids.length;
      after = ids.at(-1);
    }
    if (outbox.length >= SEND_BATCH_MAX) await sendSettlementMessages(ctx, outbox.splice(0));
    if (ids.length < pageSize) {
      exhausted = true;
      break;
    }
  }
  if (!exhausted && after !== undefined) {
    outbox.push({ type: "settlement.scan", business_date: businessDate, after_id: after });
    result.continuedAfter = after;
  }
  await sendSettlementMessages(ctx, outbox);
  return result;
}

/** Parses each message (a bug here fails loudly before anything is sent) and sends them as JSON. */
export async function sendSettlementMessages(ctx: ServiceContext, messages: SettlementsQueueMessage[]) {
  if (messages.length === 0) return;
  const bodies = messages.map((message) => SettlementsQueueMessage.parse(message));
  await ctx.env.SETTLEMENTS_QUEUE.sendBatch(bodies.map((body) => ({ body, contentType: "json" as const })));
}

// ---------------------------------------------------------------------------------------------
// Consumer

/**
 * The settlements queue consumer. Each message is parsed at the boundary; a malformed one is
 * logged, kept in `dead_letters` and acked (retrying cannot fix it). A valid one is acked only
 * after its releases are written; if any failed it is retried with backoff, and after the
 * configured retries it lands in the dead-letter queue. Messages are handled one at a time so
 * a batch stays within D1's per-invocation query budget.
 */
export async function handleSettlementsBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  for (const message of batch.messages) {
    const fields = { queue: batch.queue, message_id: message.id, attempts: message.attempts };
    const body = await parseOrDeadLetter(ctx, batch.queue, message, SettlementsQueueMessage);
    if (!body) continue;
    try {
      await handleSettlementMessage(ctx, body, fields);
      message.ack();
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "ack", messages: 1 });
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      ctx.log.error("queue.message_failed", {
        ...fields,
        type: body.type,
        retry_in_s: delaySeconds,
        error: describeError(error),
      });
      Sentry.captureException(error);
      message.retry({ delaySeconds });
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "retry", messages: 1 });
    }
  }
}

async function handleSettlementMessage(
  ctx: ServiceContext,
  message: SettlementsQueueMessage,
  fields: { queue: string; message_id: string; attempts: number },
): Promise<void> {
  switch (message.type) {
    case "settlement.release": {
      const summary = await releaseSettlements(ctx, message.settlement_ids, message.business_date);
      const logFields = {
        ...fields,
        business_date: message.business_date,
        released: summary.released,
        already_released: summary.alreadyReleased,
        not_due: summary.notDue,
        missing: summary.missing,
        failed: summary.failed.length,
      };
      if (summary.notDue > 0 || summary.missing > 0) ctx.log.warn("settlements.release_skipped", logFields);
      if (summary.failed.length > 0) {
        const first = summary.failed[0];
        throw new Error(
          `${summary.failed.length} settlement release(s) failed, first ${first?.settlementId}: ${describeError(first?.error)}`,
        );
      }
      ctx.log.info("settlements.released", logFields);
      return;
    }
    case "settlement.scan": {
      const result = await enqueueDueSettlements(ctx, message.business_date, { afterId: message.after_id });
      ctx.log.info("settlements.scan_enqueued", {
        ...fields,
        business_date: message.business_date,
        pages: result.pages,
        settlements: result.settlements,
        continued_after: result.continuedAfter,
      });
      return;
    }
  }
}
