import { and, eq, inArray, sql } from "drizzle-orm";
import { DRIVER_ACTIVE_STATUSES, drivers, rides } from "../../db/schema";
import { cellOf } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { rideLocation } from "../rides/location";
import type { DriverLocation } from "../rides/room";

/**
 * A position is written to D1 only when its cell changed or the stored one is older than this:
 * D1 is one writer across an ocean, the cell index only needs cells, and live tracking goes
 * to the ride's Durable Object.
 */
export const LOCATION_WRITE_INTERVAL_MS = 30_000;

/**
 * Records a location ping from an online driver. The D1 row (the "drivers near here" index) is
 * written only when the cell changed or the stored position is older than
 * LOCATION_WRITE_INTERVAL_MS, so most pings cost one read. `heading` and `speed` are not stored
 * in D1; during a ride the whole ping goes to the ride's room, which streams it to the passenger.
 */
export async function recordDriverLocation(
  ctx: ServiceContext,
  driverId: string,
  loc: DriverLocation,
): Promise<{ written: boolean }> {
  const row = await ctx.db
    .select({
      status: drivers.status,
      lastCell: drivers.lastCell,
      lastSeenAt: drivers.lastSeenAt,
      // A drizzle subquery embeds already parenthesised.
      activeRideId: sql<string | null>`${ctx.db
        .select({ id: rides.id })
        .from(rides)
        .where(and(eq(rides.driverId, driverId), inArray(rides.status, [...DRIVER_ACTIVE_STATUSES])))}`,
    })
    .from(drivers)
    .where(eq(drivers.userId, driverId))
    .get();
  if (row?.status !== "online") throw new ApiError("driver_offline", "Go online before sending locations");
  // During a ride the position streams through the ride's room to its passenger (no D1 write).
  if (row.activeRideId) await rideLocation(ctx, driverId, row.activeRideId, loc);
  const now = ctx.now();
  const cell = cellOf(loc);
  const lastSeen = row.lastSeenAt ? Date.parse(row.lastSeenAt) : Number.NaN;
  const fresh = now.getTime() - lastSeen < LOCATION_WRITE_INTERVAL_MS;
  if (cell === row.lastCell && fresh) return { written: false };
  const written = await ctx.db
    .update(drivers)
    .set({
      lastLat: loc.lat,
      lastLng: loc.lng,
      lastCell: cell,
      lastSeenAt: now.toISOString(),
      updatedAt: now.toISOString(),
    })
    // Guarded, so a ping racing a go-offline cannot resurrect a stale position as online.
    .where(and(eq(drivers.userId, driverId), eq(drivers.status, "online")))
    .returning({ userId: drivers.userId })
    .get();
  if (!written) throw new ApiError("driver_offline", "Go online before sending locations");
  return { written: true };
}
