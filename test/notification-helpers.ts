import { env } from "cloudflare:workers";
import type { SendNotificationMessage } from "../src/services/queue-messages";
import { QUEUES } from "../src/services/queue-messages";
import { deliverToQueue } from "./efi-webhook-helpers";
import { call, type TestUser, unique } from "./helpers";

/**
 * Captures the notification jobs the publish port enqueues in this test file (the test config
 * sends them to a queue nobody consumes), so a test can hand them to the consumer itself.
 */
export function captureNotificationJobs(): SendNotificationMessage[] {
  const jobs: SendNotificationMessage[] = [];
  const queue = {
    async send(body: SendNotificationMessage) {
      jobs.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<SendNotificationMessage>>) {
      for (const m of messages) jobs.push(m.body);
    },
  };
  (env as { NOTIFICATIONS_QUEUE: unknown }).NOTIFICATIONS_QUEUE = queue;
  return jobs;
}

/** Runs the notifications consumer on jobs, as the queue would; `attempts` as the runtime counts. */
export function deliverNotifications(jobs: unknown[], attempts = 1) {
  return deliverToQueue(QUEUES.notifications, jobs, attempts);
}

/** Registers a phone for the user and returns its id. */
export async function registerPhone(user: TestUser, token = `phone-${unique()}`) {
  const reply = await call("POST", "/v1/devices", {
    token: user.accessToken,
    body: { token, platform: "android" },
  });
  if (reply.status !== 201) throw new Error(`device registration answered ${reply.status}: ${reply.text}`);
  return { id: reply.json.id as string, token };
}

export async function inboxRows(userId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM notifications WHERE user_id = ? ORDER BY id")
    .bind(userId)
    .all<Record<string, unknown>>();
  return results;
}

/** Polls until `check` holds (jobs are enqueued in waitUntil after the reply). */
export async function eventually<T>(read: () => T | Promise<T>, check: (value: T) => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}
