import { createServiceContext } from "../composition";
import { QUEUES } from "../services/queue-messages";
import { handleDeadLetterBatch, recordDeadLetter } from "./dead-letters";
import { handleNotificationsBatch } from "./notifications";
import { handlePaymentsBatch } from "./payments";
import { describeError } from "./retry";
import { handleSettlementsBatch } from "./settlements";

/**
 * The Worker's `queue` entry point: one consumer per queue, chosen by `batch.queue`. A queue
 * nobody handles is a deployment mistake: its messages are logged, kept in `dead_letters` for
 * a person (best effort) and acked, never retried.
 */
export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  const ctx = createServiceContext(env);
  switch (batch.queue) {
    case QUEUES.settlements:
      return handleSettlementsBatch(batch, ctx);
    case QUEUES.settlementsDeadLetter:
      return handleDeadLetterBatch(batch, ctx);
    case QUEUES.payments:
      return handlePaymentsBatch(batch, ctx);
    case QUEUES.paymentsDeadLetter:
      return handleDeadLetterBatch(batch, ctx);
    case QUEUES.notifications:
      return handleNotificationsBatch(batch, ctx);
    case QUEUES.notificationsDeadLetter:
      return handleDeadLetterBatch(batch, ctx);
    default: {
      ctx.log.error("queue.unknown", { queue: batch.queue, messages: batch.messages.length });
      for (const message of batch.messages) {
        await recordDeadLetter(ctx, batch.queue, message).catch((error) =>
          ctx.log.error("queue.dead_letter_record_failed", {
            queue: batch.queue,
            message_id: message.id,
            error: describeError(error),
          }),
        );
      }
      batch.ackAll();
    }
  }
}
