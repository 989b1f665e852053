import * as Sentry from "@sentry/cloudflare";
import type { ServiceContext } from "../services/context";
import { pushRecorded, type Recorded, recordAll, sendNotification } from "../services/notifications/send";
import { NotificationsQueueMessage, type SendNotificationMessage } from "../services/queue-messages";
import { parseOrDeadLetter } from "./dead-letters";
import { describeError, retryDelaySeconds } from "./retry";

/**
 * The notifications queue consumer: each message is one `send_notification` job (inbox row, then
 * push). The batch's inbox rows are written in one D1 round trip (`recordAll`), then each job
 * pushes and is acked or retried on its own. A malformed message is kept in `dead_letters` and
 * acked; a push FCM answered 429/5xx (or did not answer), and any failure of ours, is retried with
 * backoff (30 s doubling, or FCM's `Retry-After` when longer); after the retries in wrangler.toml
 * (5) it lands in `notifications-dlq`, whose consumer stores it in `dead_letters`.
 */
export async function handleNotificationsBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  const jobs: { message: Message; job: SendNotificationMessage }[] = [];
  for (const message of batch.messages) {
    const job = await parseOrDeadLetter(ctx, batch.queue, message, NotificationsQueueMessage);
    if (job) jobs.push({ message, job });
  }
  if (jobs.length === 0) return;
  // One failing job (say, for a user erased meanwhile) fails the batch's one transaction: then
  // each job records alone, as one message per round trip, so only that one is retried.
  let recorded: (Recorded | null)[] | null = null;
  try {
    recorded = await recordAll(
      ctx,
      jobs.map(({ job }) => job),
    );
  } catch (error) {
    ctx.log.warn("notifications.batch_record_failed", { queue: batch.queue, error: describeError(error) });
  }
  for (const [i, { message, job }] of jobs.entries()) {
    const fields = { queue: batch.queue, message_id: message.id, attempts: message.attempts };
    try {
      const outcome = recorded
        ? await pushRecorded(ctx, job, recorded[i] ?? null)
        : await sendNotification(ctx, job);
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
      failed(ctx, batch.queue, message, job, error);
      Sentry.captureException(error);
    }
  }
}

/** A job that failed on our side: logged and retried with backoff. */
function failed(
  ctx: ServiceContext,
  queue: string,
  message: Message,
  job: SendNotificationMessage,
  error: unknown,
): void {
  const delaySeconds = retryDelaySeconds(message.attempts);
  ctx.log.error("queue.message_failed", {
    queue,
    message_id: message.id,
    attempts: message.attempts,
    event_id: job.event_id,
    retry_in_s: delaySeconds,
    error: describeError(error),
  });
  message.retry({ delaySeconds });
  ctx.metrics.record({ event: "queue", queue, result: "retry", messages: 1 });
}
