import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { DRIVER_ACTIVE_STATUSES, drivers, type PaymentMethod, rides } from "../../db/schema";
import { cellOf, cellsWithin, haversineMeters, type LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { rideLocation } from "../rides/rides";

/**
 * A position is written to D1 only when its cell changed or the stored one is older than this:
 * D1 is one writer across an ocean, the cell index only needs cells, and live tracking goes
 * to the ride's Durable Object.
 */
export const LOCATION_WRITE_INTERVAL_MS = 30_000;

/** Upper bound on requested rides read per "available" query (9 cells); keeps a hot area bounded. */
export const AVAILABLE_RIDES_SCAN_CAP = 500;

export interface Vehicle {
  /** Normalised: upper case, no dash or space (ABC1234 or Mercosul ABC1D23). */
  plate: string;
  model: string;
  color: string;
  category: string;
}

export interface DriverProfile {
  user_id: string;
  status: "offline" | "online";
  vehicle: Vehicle | null;
  location: LatLng | null;
  last_seen_at: string | null;
}

export interface DriverLocation extends LatLng {
  /** Degrees clockwise from north, 0..360. */
  heading?: number;
  /** Metres per second. */
  speed?: number;
}

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

type DriverRow = typeof drivers.$inferSelect;

function toProfile(driverId: string, row: DriverRow | undefined): DriverProfile {
  if (!row)
    return { user_id: driverId, status: "offline", vehicle: null, location: null, last_seen_at: null };
  const { vehiclePlate, vehicleModel, vehicleColor, vehicleCategory, lastLat, lastLng } = row;
  return {
    user_id: row.userId,
    status: row.status,
    vehicle:
      vehiclePlate && vehicleModel && vehicleColor && vehicleCategory
        ? { plate: vehiclePlate, model: vehicleModel, color: vehicleColor, category: vehicleCategory }
        : null,
    location: lastLat !== null && lastLng !== null ? { lat: lastLat, lng: lastLng } : null,
    last_seen_at: row.lastSeenAt,
  };
}

/** The driver's profile; a driver who never registered a vehicle is offline with no vehicle. */
export async function getDriverProfile(ctx: ServiceContext, driverId: string): Promise<DriverProfile> {
  const row = await ctx.db.select().from(drivers).where(eq(drivers.userId, driverId)).get();
  return toProfile(driverId, row);
}

/** Registers or replaces the driver's vehicle in one upsert; the online status is left as it was. */
export async function setVehicle(
  ctx: ServiceContext,
  driverId: string,
  vehicle: Vehicle,
): Promise<DriverProfile> {
  const now = ctx.now().toISOString();
  const fields = {
    vehiclePlate: vehicle.plate,
    vehicleModel: vehicle.model,
    vehicleColor: vehicle.color,
    vehicleCategory: vehicle.category,
    updatedAt: now,
  };
  const row = await ctx.db
    .insert(drivers)
    .values({ userId: driverId, ...fields })
    .onConflictDoUpdate({ target: drivers.userId, set: fields })
    .returning()
    .get();
  return toProfile(driverId, row);
}

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

/**
 * Records a location ping from an online driver. The D1 row (the "drivers near here" index) is
 * written only when the cell changed or the stored position is older than
 * LOCATION_WRITE_INTERVAL_MS, so most pings cost one read. `heading` and `speed` are not stored
 * in D1; they are for the live consumers (the active ride's RideRoom) to be added here.
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

/**
 * The candidate query behind `listAvailableRides`: requested, unexpired rides of the driver's
 * vehicle category whose pickup cell is one of the cells covering the radius. It uses
 * `rides_requested_cell_idx` (status, pickup_cell); exported so a test can EXPLAIN the same SQL.
 */
export function availableRidesQuery(
  db: Database,
  driverId: string,
  point: LatLng,
  radiusM: number,
  now: Date,
) {
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
        inArray(rides.pickupCell, cellsWithin(point, radiusM)),
        gt(rides.expiresAt, now.toISOString()),
        sql`${rides.category} = (SELECT ${drivers.vehicleCategory} FROM ${drivers} WHERE ${drivers.userId} = ${driverId})`,
      ),
    )
    .limit(AVAILABLE_RIDES_SCAN_CAP);
}

/**
 * Requested rides near the driver, nearest first. One round trip: the driver's vehicle and the
 * candidates of the 9 cells around the point are read in one batch; the exact radius
 * (NEARBY_RADIUS_M) and the order are applied here. No passenger data leaves this function.
 */
export async function listAvailableRides(
  ctx: ServiceContext,
  driverId: string,
  point: LatLng,
  limit: number,
): Promise<AvailableRide[]> {
  const [driver, candidates] = await ctx.db.batch([
    ctx.db.select({ category: drivers.vehicleCategory }).from(drivers).where(eq(drivers.userId, driverId)),
    availableRidesQuery(ctx.db, driverId, point, ctx.config.NEARBY_RADIUS_M, ctx.now()),
  ]);
  if (!driver[0]?.category) {
    throw new ApiError("vehicle_required", "Register a vehicle with PUT /v1/drivers/me/vehicle first");
  }
  const radius = ctx.config.NEARBY_RADIUS_M;
  return candidates
    .map((ride) => {
      const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
      return { ride, pickup, distance: haversineMeters(point, pickup) };
    })
    .filter(({ distance }) => distance <= radius)
    .sort((a, b) => a.distance - b.distance || a.ride.id.localeCompare(b.ride.id))
    .slice(0, limit)
    .map(({ ride, pickup, distance }) => ({
      id: ride.id,
      category: ride.category,
      pickup,
      dropoff: { lat: ride.dropoffLat, lng: ride.dropoffLng },
      estimated_fare_cents: ride.estimatedFareCents,
      payment_method: ride.paymentMethod,
      distance_to_pickup_m: Math.round(distance),
      created_at: ride.createdAt,
      expires_at: ride.expiresAt,
    }));
}
