import { z } from "zod";
import { deadLetters } from "../db/schema";
import { newId } from "../lib/ids";
import type { ServiceContext } from "../services/context";
import { describeError, retryDelaySeconds } from "./retry";

/** A message body as text for a person to read: JSON when it can be, else its string form. */
function bodyText(body: unknown): string {
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/**
 * Keeps a message that will not be processed in `dead_letters`, once per queue and message id
 * (a redelivery inserts nothing). Returns whether a row was written now.
 */
export async function recordDeadLetter(
  ctx: ServiceContext,
  queue: string,
  message: Message,
): Promise<boolean> {
  const inserted = await ctx.db
    .insert(deadLetters)
    .values({
      id: newId("dlq", ctx.now().getTime()),
      queue,
      messageId: message.id,
      body: bodyText(message.body),
      attempts: message.attempts,
      createdAt: ctx.now().toISOString(),
    })
    .onConflictDoNothing({ target: [deadLetters.queue, deadLetters.messageId] })
    .returning({ id: deadLetters.id })
    .all();
  return inserted.length > 0;
}

/**
 * The consumer of a dead-letter queue: each message that exhausted its retries becomes a
 * `dead_letters` row and an error log line, then is acked. If the row cannot be written the
 * message is retried (it is the last copy there is).
 */
export async function handleDeadLetterBatch(batch: MessageBatch, ctx: ServiceContext): Promise<void> {
  for (const message of batch.messages) {
    try {
      const recorded = await recordDeadLetter(ctx, batch.queue, message);
      ctx.log.error("queue.dead_letter", {
        queue: batch.queue,
        message_id: message.id,
        attempts: message.attempts,
        recorded,
      });
      if (recorded) ctx.metrics.record({ event: "dlq", queue: batch.queue, messages: 1 });
      message.ack();
    } catch (error) {
      ctx.log.error("queue.dead_letter_record_failed", {
        queue: batch.queue,
        message_id: message.id,
        attempts: message.attempts,
        error: describeError(error),
      });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

/**
 * Parses a message's body at the queue boundary. A body that does not parse cannot be fixed by a
 * retry: it is kept in `dead_letters` for a person and acked (or retried if even that failed),
 * and the caller gets null and moves on to the next message.
 */
export async function parseOrDeadLetter<T>(
  ctx: ServiceContext,
  queue: string,
  message: Message,
  schema: z.ZodType<T>,
): Promise<T | null> {
  const parsed = schema.safeParse(message.body);
  if (parsed.success) return parsed.data;
  const fields = { queue, message_id: message.id, attempts: message.attempts };
  ctx.log.error("queue.message_malformed", {
    ...fields,
    issues: z.prettifyError(parsed.error).slice(0, 500),
  });
  try {
    await recordDeadLetter(ctx, queue, message);
    ctx.metrics.record({ event: "queue", queue, result: "malformed", messages: 1 });
    message.ack();
  } catch (error) {
    ctx.log.error("queue.dead_letter_record_failed", { ...fields, error: describeError(error) });
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
  return null;
}
