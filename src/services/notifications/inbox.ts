import { and, desc, eq, lt, sql } from "drizzle-orm";
import { notifications } from "../../db/schema";
import { newId } from "../../lib/ids";
import { type PageQuery, pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import type { NotificationKind } from "./kinds";

export type NotificationRow = typeof notifications.$inferSelect;

export interface NotificationView {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  data: Record<string, string>;
  created_at: string;
  read_at: string | null;
}

export function notificationView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    // Written only from a parsed job, whose kind is one of NOTIFICATION_KINDS.
    kind: row.kind as NotificationKind,
    title: row.title,
    body: row.body,
    data: JSON.parse(row.data) as Record<string, string>,
    created_at: row.createdAt,
    read_at: row.readAt,
  };
}

/** The dedup key of one event for one user: a job that runs twice finds the first row. */
export const dedupKeyOf = (eventId: string, userId: string) => `${eventId}:${userId}`;

/**
 * Writes the inbox row once per event and user, and returns it (the existing one on a rerun).
 * One statement: on a rerun the conflict's no-op update makes `RETURNING` answer the row there.
 */
export function recordNotificationStatement(
  ctx: ServiceContext,
  input: {
    eventId: string;
    userId: string;
    kind: NotificationKind;
    title: string;
    body: string;
    data: Record<string, string>;
  },
) {
  const now = ctx.now();
  return ctx.db
    .insert(notifications)
    .values({
      id: newId("ntf", now.getTime()),
      userId: input.userId,
      kind: input.kind,
      title: input.title,
      body: input.body,
      data: JSON.stringify(input.data),
      dedupKey: dedupKeyOf(input.eventId, input.userId),
      createdAt: now.toISOString(),
    })
    .onConflictDoUpdate({ target: notifications.dedupKey, set: { dedupKey: sql`excluded.dedup_key` } })
    .returning();
}

export async function recordNotification(
  ctx: ServiceContext,
  input: Parameters<typeof recordNotificationStatement>[1],
): Promise<NotificationRow> {
  const [row] = await recordNotificationStatement(ctx, input);
  if (!row) throw new Error("notification row missing after insert");
  return row;
}

/** The user's notifications, newest first. */
export async function listNotifications(ctx: ServiceContext, userId: string, page: PageQuery) {
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.userId, userId), page.cursor ? lt(notifications.id, page.cursor) : undefined))
    .orderBy(desc(notifications.id))
    .limit(page.limit + 1);
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(notificationView), next_cursor };
}

/** Marks one of the user's notifications read (the first time counts); anyone else's is 404. */
export async function markRead(ctx: ServiceContext, userId: string, id: string): Promise<NotificationView> {
  const [row] = await ctx.db
    .update(notifications)
    .set({ readAt: sql`COALESCE(${notifications.readAt}, ${ctx.now().toISOString()})` })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .returning()
    .all();
  if (!row) throw new ApiError("not_found", "No such notification");
  return notificationView(row);
}
