import { and, desc, eq, notInArray, sql } from "drizzle-orm";
import { type DevicePlatform, devices } from "../../db/schema";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/** A user keeps this many phones at most; registering one more drops the longest unseen. */
export const MAX_DEVICES_PER_USER = 10;

export interface DeviceView {
  id: string;
  token: string;
  platform: DevicePlatform;
  created_at: string;
  last_seen_at: string;
}

export type DeviceRow = typeof devices.$inferSelect;

function deviceView(row: DeviceRow): DeviceView {
  return {
    id: row.id,
    token: row.token,
    platform: row.platform,
    created_at: row.createdAt,
    last_seen_at: row.lastSeenAt,
  };
}

/**
 * Registers a phone's FCM token for the user; registering it again only refreshes it. A token
 * registered by someone else moves to this user (the phone changed hands: FCM issues a token per
 * app install, so whoever presents it holds that install). `created` says whether the token is new
 * to this user.
 */
export async function registerDevice(
  ctx: ServiceContext,
  userId: string,
  input: { token: string; platform: DevicePlatform },
): Promise<{ device: DeviceView; created: boolean }> {
  const now = ctx.now().toISOString();
  const before = await ctx.db
    .select({ userId: devices.userId })
    .from(devices)
    .where(eq(devices.token, input.token))
    .get();
  const [row] = await ctx.db
    .insert(devices)
    .values({
      id: newId("dvc", ctx.now().getTime()),
      token: input.token,
      userId,
      platform: input.platform,
      createdAt: now,
      lastSeenAt: now,
    })
    .onConflictDoUpdate({
      target: devices.token,
      set: {
        userId,
        platform: input.platform,
        lastSeenAt: now,
        // A token that changed hands is a new device of its new owner (new id, new created_at).
        id: sql`CASE WHEN ${devices.userId} = ${userId} THEN ${devices.id} ELSE ${newId("dvc", ctx.now().getTime())} END`,
        createdAt: sql`CASE WHEN ${devices.userId} = ${userId} THEN ${devices.createdAt} ELSE ${now} END`,
      },
    })
    .returning()
    .all();
  if (!row) throw new Error("device upsert returned no row");
  await trimDevices(ctx, userId);
  return { device: deviceView(row), created: before?.userId !== userId };
}

/** Keeps the user's most recently seen devices, so a client cannot pile up tokens to push to. */
async function trimDevices(ctx: ServiceContext, userId: string): Promise<void> {
  const keep = ctx.db
    .select({ id: devices.id })
    .from(devices)
    .where(eq(devices.userId, userId))
    .orderBy(desc(devices.lastSeenAt), desc(devices.id))
    .limit(MAX_DEVICES_PER_USER);
  await ctx.db.delete(devices).where(and(eq(devices.userId, userId), notInArray(devices.id, keep)));
}

/** Removes one of the user's own devices; anyone else's is `404 not_found`. */
export async function removeDevice(ctx: ServiceContext, userId: string, deviceId: string): Promise<void> {
  const deleted = await ctx.db
    .delete(devices)
    .where(and(eq(devices.id, deviceId), eq(devices.userId, userId)))
    .returning({ id: devices.id })
    .all();
  if (deleted.length === 0) throw new ApiError("not_found", "No such device");
}

export function devicesOfStatement(ctx: ServiceContext, userId: string) {
  return ctx.db.select().from(devices).where(eq(devices.userId, userId));
}

/** Drops a token FCM reported unregistered, if it still belongs to that user. */
export async function forgetDevice(ctx: ServiceContext, userId: string, token: string): Promise<void> {
  await ctx.db.delete(devices).where(and(eq(devices.token, token), eq(devices.userId, userId)));
}
