import { and, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { notifications, rides } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { SendNotificationMessage } from "../queue-messages";
import { type DeviceRow, devicesOfStatement, forgetDevice } from "./devices";
import { type NotificationRow, recordNotificationStatement } from "./inbox";

type Statement = BatchItem<"sqlite">;

/** A run that claimed a push and died holds it this long; then a redelivery may push. */
export const PUSH_CLAIM_SECONDS = 60;

export type SendOutcome =
  | { status: "done"; detail: string; sent: number; removed: number }
  | { status: "retry"; detail: string; retryAfterSeconds?: number };

/** What the batch that records a job's inbox row answered: the row and the user's phones. */
export interface Recorded {
  userId: string;
  row: NotificationRow;
  phones: DeviceRow[];
}

/**
 * The inbox rows of several `send_notification` jobs (once per event and user) and each user's
 * phones, in one D1 batch: a consumer batch of ten costs one round trip here, not ten in a row
 * (from Brazil, ~120 ms each, all before the first push). A job whose ride has no driver has
 * nobody to notify (`null`).
 */
export async function recordAll(
  ctx: ServiceContext,
  jobs: SendNotificationMessage[],
): Promise<(Recorded | null)[]> {
  const recipients = await recipientsOf(ctx, jobs);
  const statements: Statement[] = jobs.flatMap((job, i) => {
    const userId = recipients[i];
    if (!userId) return [];
    return [
      recordNotificationStatement(ctx, {
        eventId: job.event_id,
        userId,
        kind: job.kind,
        title: job.title,
        body: job.body,
        data: job.data,
      }),
      devicesOfStatement(ctx, userId),
    ];
  });
  const results = statements.length > 0 ? await ctx.db.batch(statements as [Statement, ...Statement[]]) : [];
  let at = 0;
  return recipients.map((userId) => {
    if (!userId) return null;
    const [row] = results[at] as NotificationRow[];
    const phones = results[at + 1] as DeviceRow[];
    at += 2;
    if (!row) throw new Error("notification row missing after insert");
    return { userId, row, phones };
  });
}

/**
 * Runs one `send_notification` job: the inbox row first (once per event and user), then the push
 * to each of the user's phones (`pushRecorded`).
 */
export async function sendNotification(
  ctx: ServiceContext,
  job: SendNotificationMessage,
): Promise<SendOutcome> {
  const [recorded] = await recordAll(ctx, [job]);
  return pushRecorded(ctx, job, recorded ?? null);
}

/**
 * The push of a recorded job to each of the user's phones (nothing when it had no recipient).
 * FCM's send is not idempotent, so the row's `pushed_at` is set after the push and a rerun that
 * finds it set pushes nothing; a claim (`push_claimed_at`) keeps two concurrent runs from both
 * pushing. A dead token's device is deleted; a transient failure releases the claim and asks for
 * a retry (the phones that already got it may get it again, collapsed on the phone by the
 * notification id).
 */
export async function pushRecorded(
  ctx: ServiceContext,
  job: SendNotificationMessage,
  recorded: Recorded | null,
): Promise<SendOutcome> {
  if (!recorded) return { status: "done", detail: "no recipient", sent: 0, removed: 0 };
  const { userId, row, phones } = recorded;
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

/** Each job's user: given, or the driver of its ride (read in one batch when any job needs it). */
async function recipientsOf(
  ctx: ServiceContext,
  jobs: SendNotificationMessage[],
): Promise<(string | null)[]> {
  const rideIds = jobs.flatMap((job) =>
    "driver_of_ride" in job.recipient ? [job.recipient.driver_of_ride] : [],
  );
  const drivers = new Map<string, string | null>();
  if (rideIds.length > 0) {
    const found = await ctx.db
      .select({ id: rides.id, driverId: rides.driverId })
      .from(rides)
      .where(inArray(rides.id, [...new Set(rideIds)]));
    for (const ride of found) drivers.set(ride.id, ride.driverId);
  }
  return jobs.map((job) =>
    "user_id" in job.recipient ? job.recipient.user_id : (drivers.get(job.recipient.driver_of_ride) ?? null),
  );
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
