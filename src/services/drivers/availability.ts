import { and, eq, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { assertNoCancelCooldown } from "./cancellations";
import { mayDrive, refuseGoingOnline } from "./onboarding-gate";
import { type DriverProfile, toProfile } from "./profile";

/**
 * Goes online at a position. One guarded statement: a vehicle, and an approved driver whose
 * documents are valid today; otherwise `vehicle_required`, `driver_documents_expired` or
 * `driver_not_approved` (refuseGoingOnline).
 */
export async function goOnline(ctx: ServiceContext, driverId: string, point: LatLng): Promise<DriverProfile> {
  await assertNoCancelCooldown(ctx, driverId);
  const now = ctx.now().toISOString();
  const row = await ctx.db
    .update(drivers)
    .set({
      status: "online",
      lastLat: point.lat,
      lastLng: point.lng,
      lastCell: cellOf(point),
      lastSeenAt: now,
      // Idle time for dispatch counts from going online, not from a repeated go-online.
      onlineSince: sql`CASE WHEN ${drivers.status} = 'online' AND ${drivers.onlineSince} IS NOT NULL THEN ${drivers.onlineSince} ELSE ${now} END`,
      updatedAt: now,
    })
    .where(and(eq(drivers.userId, driverId), sql`${drivers.vehiclePlate} IS NOT NULL`, mayDrive(ctx.now())))
    .returning()
    .get();
  if (!row) return refuseGoingOnline(ctx, driverId);
  return toProfile(driverId, row);
}

/** Goes offline; idempotent, and a driver without a row is already offline. */
export async function goOffline(ctx: ServiceContext, driverId: string): Promise<DriverProfile> {
  const row = await ctx.db
    .update(drivers)
    .set({ status: "offline", updatedAt: ctx.now().toISOString() })
    .where(eq(drivers.userId, driverId))
    .returning()
    .get();
  return toProfile(driverId, row);
}
