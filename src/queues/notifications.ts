import * as Sentry from "@sentry/cloudflare";
import type { ServiceContext } from "../services/context";
import { sendNotification } from "../services/notifications/send";
import { NotificationsQueueMessage } from "../services/queue-messages";
import { parseOrDeadLetter } from "./dead-letters";
import { describeError, retryDelaySeconds } from "./retry";

/**
 * The notifications queue consumer: each message is one `send_notification` job (inbox row, then
 * push). A malformed message is kept in `dead_letters` and acked; a push FCM answered 429/5xx (or
 * did not answer), and any failure of ours, is retried with backoff (30 s doubling, or FCM's
 * `Retry-After` when longer); after the retries in wrangler.toml (5) it lands in
 * `notifications-dlq`, whose consumer stores it in `dead_letters`.
 */
export async function handleNotificationsBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  for (const message of batch.messages) {
    const fields = { queue: batch.queue, message_id: message.id, attempts: message.attempts };
    const job = await parseOrDeadLetter(ctx, batch.queue, message, NotificationsQueueMessage);
    if (!job) continue;
    try {
      const outcome = await sendNotification(ctx, job);
      if (outcome.status === "retry") {
        const delaySeconds = Math.max(retryDelaySeconds(message.attempts), outcome.retryAfterSeconds ?? 0);
        ctx.log.warn("notifications.push_retry", {
          ...fields,
          event_id: job.event_id,
          detail: outcome.detail,
          retry_in_s: delaySeconds,
        });
        message.retry({ delaySeconds });
        ctx.metrics.record({ event: "queue", queue: batch.queue, result: "retry", messages: 1 });
        continue;
      }
      ctx.log.info("notifications.sent", {
        ...fields,
        event_id: job.event_id,
        kind: job.kind,
        detail: outcome.detail,
        pushed: outcome.sent,
        removed_devices: outcome.removed,
      });
      message.ack();
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "ack", messages: 1 });
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      ctx.log.error("queue.message_failed", {
        ...fields,
        event_id: job.event_id,
        retry_in_s: delaySeconds,
        error: describeError(error),
      });
      Sentry.captureException(error);
      message.retry({ delaySeconds });
      ctx.metrics.record({ event: "queue", queue: batch.queue, result: "retry", messages: 1 });
    }
  }
}
