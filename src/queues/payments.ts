import * as Sentry from "@sentry/cloudflare";
import type { ServiceContext } from "../services/context";
import { PaymentsQueueMessage } from "../services/queue-messages";
import { processWebhookEvent } from "../services/webhooks/process";
import { parseOrDeadLetter } from "./dead-letters";
import { describeError, retryDelaySeconds } from "./retry";

/**
 * The payments queue consumer: each message names one stored Efí webhook item, which is
 * confirmed against Efí and applied (src/services/efi-webhook-processing.ts). A malformed message
 * is kept in `dead_letters` and acked (retrying cannot fix it). A processed, flagged or already
 * handled item is acked; an item Efí does not show yet, or one whose processing failed, is
 * retried with backoff (30 s doubling); after the configured retries (wrangler.toml: 8) a failing
 * message lands in `payments-dlq`, whose consumer stores it in `dead_letters`. Items Efí still
 * does not confirm after `CONFIRM_ATTEMPTS` deliveries are flagged before that. Messages are
 * handled one at a time so a batch stays within D1's per-invocation query budget.
 */
export async function handlePaymentsBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  for (const message of batch.messages) {
    const fields = { queue: batch.queue, message_id: message.id, attempts: message.attempts };
    const body = await parseOrDeadLetter(ctx, batch.queue, message, PaymentsQueueMessage);
    if (!body) continue;
    const { event_id, kind } = body;
    try {
      const outcome = await processWebhookEvent(ctx, event_id, { attempts: message.attempts });
      if (outcome.status === "retry") {
        const delaySeconds = retryDelaySeconds(message.attempts);
        ctx.log.warn("payments.not_confirmed_yet", {
          ...fields,
          event_id,
          kind,
          retry_in_s: delaySeconds,
          detail: outcome.detail,
        });
        message.retry({ delaySeconds });
        ctx.metrics.record({ event: "queue", queue: batch.queue, result: "not_confirmed", messages: 1 });
        continue;
      }
      ctx.log.info("payments.webhook_item", {
        ...fields,
        event_id,
        kind,
        outcome: outcome.status,
        detail: outcome.status === "flagged" ? outcome.detail : undefined,
      });
      message.ack();
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "ack", messages: 1 });
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      ctx.log.error("queue.message_failed", {
        ...fields,
        event_id,
        kind,
        retry_in_s: delaySeconds,
        error: describeError(error),
      });
      Sentry.captureException(error);
      message.retry({ delaySeconds });
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "retry", messages: 1 });
    }
  }
}
