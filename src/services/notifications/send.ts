import { and, eq, isNull, lt, or } from "drizzle-orm";
import { notifications, rides } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { SendNotificationMessage } from "../queue-messages";
import { devicesOfStatement, forgetDevice } from "./devices";
import { recordNotificationStatement } from "./inbox";

/** A run that claimed a push and died holds it this long; then a redelivery may push. */
export const PUSH_CLAIM_SECONDS = 60;

export type SendOutcome =
  | { status: "done"; detail: string; sent: number; removed: number }
  | { status: "retry"; detail: string; retryAfterSeconds?: number };

/**
 * Runs one `send_notification` job: the inbox row first (once per event and user), then the push
 * to each of the user's phones. FCM's send is not idempotent, so the row's `pushed_at` is set after
 * the push and a rerun that finds it set pushes nothing; a claim (`push_claimed_at`) keeps two
 * concurrent runs from both pushing. A dead token's device is deleted; a transient failure
 * releases the claim and asks for a retry (the phones that already got it may get it again,
 * collapsed on the phone by the notification id).
 */
export async function sendNotification(
  ctx: ServiceContext,
  job: SendNotificationMessage,
): Promise<SendOutcome> {
  const userId = await recipientOf(ctx, job.recipient);
  if (!userId) return { status: "done", detail: "no recipient", sent: 0, removed: 0 };
  // The inbox row and the user's phones in one round trip.
  const [[row], phones] = await ctx.db.batch([
    recordNotificationStatement(ctx, {
      eventId: job.event_id,
      userId,
      kind: job.kind,
      title: job.title,
      body: job.body,
      data: job.data,
    }),
    devicesOfStatement(ctx, userId),
  ]);
  if (!row) throw new Error("notification row missing after insert");
  if (row.pushedAt) return { status: "done", detail: "already pushed", sent: 0, removed: 0 };
  if (!ctx.push) return { status: "done", detail: "push off", sent: 0, removed: 0 };
  if (phones.length === 0) return { status: "done", detail: "no devices", sent: 0, removed: 0 };
  if (!(await claim(ctx, row.id)))
    return { status: "done", detail: "claimed by another run", sent: 0, removed: 0 };

  let sent = 0;
  let removed = 0;
  let retry: { detail: string; retryAfterSeconds?: number } | null = null;
  for (const phone of phones) {
    const result = await ctx.push.send({
      token: phone.token,
      title: row.title,
      body: row.body,
      data: { ...job.data, notification_id: row.id },
      collapseKey: row.id,
    });
    ctx.metrics.record({ event: "push", result: result.outcome, platform: phone.platform });
    if (result.outcome === "sent") sent += 1;
    else if (result.outcome === "unregistered") {
      await forgetDevice(ctx, userId, phone.token);
      removed += 1;
    } else if (result.outcome === "rejected") {
      ctx.log.error("push.rejected", { notification_id: row.id, status: result.status, code: result.code });
    } else {
      const after = Math.max(retry?.retryAfterSeconds ?? 0, result.retryAfterSeconds ?? 0);
      retry = {
        detail: `${result.status} ${result.code}`,
        ...(after > 0 ? { retryAfterSeconds: after } : {}),
      };
    }
  }
  if (retry) {
    await ctx.db.update(notifications).set({ pushClaimedAt: null }).where(eq(notifications.id, row.id));
    return { status: "retry", ...retry };
  }
  await ctx.db
    .update(notifications)
    .set({ pushedAt: ctx.now().toISOString() })
    .where(eq(notifications.id, row.id));
  return { status: "done", detail: "pushed", sent, removed };
}

async function recipientOf(ctx: ServiceContext, recipient: SendNotificationMessage["recipient"]) {
  if ("user_id" in recipient) return recipient.user_id;
  const ride = await ctx.db
    .select({ driverId: rides.driverId })
    .from(rides)
    .where(eq(rides.id, recipient.driver_of_ride))
    .get();
  return ride?.driverId ?? null;
}

/** Takes the push of a row that is not pushed and not held by a live claim. */
async function claim(ctx: ServiceContext, id: string): Promise<boolean> {
  const now = ctx.now();
  const stale = new Date(now.getTime() - PUSH_CLAIM_SECONDS * 1000).toISOString();
  const claimed = await ctx.db
    .update(notifications)
    .set({ pushClaimedAt: now.toISOString() })
    .where(
      and(
        eq(notifications.id, id),
        isNull(notifications.pushedAt),
        or(isNull(notifications.pushClaimedAt), lt(notifications.pushClaimedAt, stale)),
      ),
    )
    .returning({ id: notifications.id })
    .all();
  return claimed.length > 0;
}
