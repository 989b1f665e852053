import { and, eq, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { type DriverProfile, toProfile } from "./profile";

/** Goes online at a position. One guarded statement: no row or no vehicle → `vehicle_required`. */
export async function goOnline(ctx: ServiceContext, driverId: string, point: LatLng): Promise<DriverProfile> {
  const now = ctx.now().toISOString();
  const row = await ctx.db
    .update(drivers)
    .set({
      status: "online",
      lastLat: point.lat,
      lastLng: point.lng,
      lastCell: cellOf(point),
      lastSeenAt: now,
      updatedAt: now,
    })
    .where(and(eq(drivers.userId, driverId), sql`${drivers.vehiclePlate} IS NOT NULL`))
    .returning()
    .get();
  if (!row)
    throw new ApiError("vehicle_required", "Register a vehicle with PUT /v1/drivers/me/vehicle first");
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
