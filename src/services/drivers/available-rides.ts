import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { drivers, type PaymentMethod, rides } from "../../db/schema";
import { cellsWithin, haversineMeters, type LatLng, MAX_COVER_CELLS } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { offerPoints } from "../rides/view";
import { areaOf } from "./index-port";
import { freshPosition } from "./position";

/** Upper bound on requested rides read per "available" query (9 cells); keeps a hot area bounded. */
export const AVAILABLE_RIDES_SCAN_CAP = 500;

export interface AvailableRide {
  id: string;
  category: string;
  pickup: LatLng;
  dropoff: LatLng;
  estimated_fare_cents: number;
  payment_method: PaymentMethod;
  distance_to_pickup_m: number;
  created_at: string;
  expires_at: string;
}

/**
 * The candidate query behind `listAvailableRides`: requested, unexpired rides of the driver's
 * vehicle category whose pickup cell is one of `cells` (the cover of the radius). It uses
 * `rides_requested_cell_idx` (status, pickup_cell); exported so a test can EXPLAIN the same SQL.
 */
export function availableRidesQuery(db: Database, driverId: string, cells: string[], now: Date) {
  return db
    .select({
      id: rides.id,
      category: rides.category,
      pickupLat: rides.pickupLat,
      pickupLng: rides.pickupLng,
      dropoffLat: rides.dropoffLat,
      dropoffLng: rides.dropoffLng,
      estimatedFareCents: rides.estimatedFareCents,
      paymentMethod: rides.paymentMethod,
      createdAt: rides.createdAt,
      expiresAt: rides.expiresAt,
    })
    .from(rides)
    .where(
      and(
        eq(rides.status, "requested"),
        inArray(rides.pickupCell, cells),
        gt(rides.expiresAt, now.toISOString()),
        sql`${rides.category} = (SELECT ${drivers.vehicleCategory} FROM ${drivers} WHERE ${drivers.userId} = ${driverId})`,
      ),
    )
    .limit(AVAILABLE_RIDES_SCAN_CAP);
}

/**
 * Requested rides near the driver, nearest first, around the driver's own position (never a point
 * the caller names): the driver must be online (`driver_offline`) with a position no older than
 * DRIVER_POSITION_MAX_AGE_S (`driver_position_stale`). The position is the one his area's driver
 * index holds (the last ping); D1's row names the area (its snapshot is at most
 * LOCATION_SNAPSHOT_INTERVAL_MS old, so it lies in the area that holds him). Round trips: the
 * driver's row, the index, then the candidates of the cells around the position; the exact radius
 * (NEARBY_RADIUS_M) and the order are applied here. No passenger data leaves this function, and
 * the points are rounded to the area as in every offer.
 */
export async function listAvailableRides(
  ctx: ServiceContext,
  driverId: string,
  limit: number,
): Promise<AvailableRide[]> {
  const driver = await ctx.db
    .select({
      status: drivers.status,
      category: drivers.vehicleCategory,
      lat: drivers.lastLat,
      lng: drivers.lastLng,
      seenAt: drivers.lastSeenAt,
    })
    .from(drivers)
    .where(eq(drivers.userId, driverId))
    .get();
  if (!driver?.category) {
    throw new ApiError("vehicle_required", "Register a vehicle with PUT /v1/drivers/me/vehicle first");
  }
  if (driver.status !== "online") throw new ApiError("driver_offline", "Go online to see rides near you");
  const indexed =
    driver.lat !== null && driver.lng !== null
      ? await ctx.driverIndex(areaOf({ lat: driver.lat, lng: driver.lng })).locate(driverId)
      : null;
  const point = freshPosition(
    ctx,
    indexed ? { lat: indexed.lat, lng: indexed.lng, seenAt: new Date(indexed.seenAt).toISOString() } : driver,
  );
  const cells = cellsWithin(point, ctx.config.NEARBY_RADIUS_M);
  if (cells.length > MAX_COVER_CELLS) {
    throw new ApiError("outside_service_area", "No rides are served this close to a pole");
  }
  const candidates = await availableRidesQuery(ctx.db, driverId, cells, ctx.now());
  const radius = ctx.config.NEARBY_RADIUS_M;
  return candidates
    .map((ride) => {
      const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
      return { ride, pickup, distance: haversineMeters(point, pickup) };
    })
    .filter(({ distance }) => distance <= radius)
    .sort((a, b) => a.distance - b.distance || a.ride.id.localeCompare(b.ride.id))
    .slice(0, limit)
    .map(({ ride, distance }) => ({
      id: ride.id,
      category: ride.category,
      ...offerPoints(ride),
      estimated_fare_cents: ride.estimatedFareCents,
      payment_method: ride.paymentMethod,
      distance_to_pickup_m: Math.round(distance),
      created_at: ride.createdAt,
      expires_at: ride.expiresAt,
    }));
}
