import { and, eq, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { assertNoCancelCooldown } from "./cancellations";
import { assertDebtWithinLimit } from "./debt";
import { areaOf } from "./index-port";
import { forgetIndexedDriver } from "./index-sync";
import { mayDrive, refuseGoingOnline } from "./onboarding-gate";
import { type DriverProfile, toProfile } from "./profile";

/**
 * Goes online at a position. One guarded statement: a vehicle, and an approved driver whose
 * documents are valid today; otherwise `vehicle_required`, `driver_documents_expired` or
 * `driver_not_approved` (refuseGoingOnline). In the same D1 batch, what the area's driver index
 * needs to hold him (his active ride, his last completed ride); the index is told after D1, which
 * stays the system of record for the status.
 */
export async function goOnline(ctx: ServiceContext, driverId: string, point: LatLng): Promise<DriverProfile> {
  await Promise.all([assertNoCancelCooldown(ctx, driverId), assertDebtWithinLimit(ctx, driverId)]);
  const now = ctx.now().toISOString();
  const [updated, [facts]] = await ctx.db.batch([
    ctx.db
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
      .returning(),
    ctx.db
      .select({
        rideId: sql<string | null>`(SELECT id FROM rides WHERE driver_id = ${driverId}
          AND status IN ('accepted', 'arrived', 'in_progress') LIMIT 1)`,
        completedAt: sql<string | null>`(SELECT MAX(completed_at) FROM rides WHERE driver_id = ${driverId}
          AND status = 'completed')`,
      })
      .from(drivers)
      .where(eq(drivers.userId, driverId)),
  ]);
  const row = updated[0];
  if (!row) return refuseGoingOnline(ctx, driverId);
  const onlineSince = row.onlineSince ?? now;
  const lastCompleted = facts?.completedAt ?? "";
  await ctx.driverIndex(areaOf(point)).online({
    driverId,
    category: row.vehicleCategory ?? "",
    lat: point.lat,
    lng: point.lng,
    seenAt: Date.parse(now),
    rideId: facts?.rideId ?? null,
    // ISO times: the later one sorts last.
    idleSince: [onlineSince, lastCompleted].sort()[1] ?? onlineSince,
  });
  return toProfile(driverId, row);
}

/**
 * Goes offline; idempotent, and a driver without a row is already offline. D1 first, then the
 * index of the area D1 last placed him in (see `forgetIndexedDriver`): a ping racing this either
 * lands before the index forgets him (as if sent a moment earlier) or is refused.
 */
export async function goOffline(ctx: ServiceContext, driverId: string): Promise<DriverProfile> {
  const row = await ctx.db
    .update(drivers)
    .set({ status: "offline", updatedAt: ctx.now().toISOString() })
    .where(eq(drivers.userId, driverId))
    .returning()
    .get();
  await forgetIndexedDriver(ctx, driverId, row ? { lat: row.lastLat, lng: row.lastLng } : null);
  return toProfile(driverId, row);
}
