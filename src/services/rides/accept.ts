import { eq } from "drizzle-orm";
import { DRIVER_ACTIVE_STATUSES, drivers } from "../../db/schema";
import { haversineMeters, type LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { areaOf, areasAround, type IndexedDriver } from "../drivers/index-port";
import { freshPosition } from "../drivers/position";
import { act } from "./act";
import type { RideStanding } from "./room";
import type { RideView } from "./view";

/**
 * A driver takes a ride: their vehicle must serve its category, they must be online with a fresh
 * position (`DRIVER_POSITION_MAX_AGE_S`) within the dispatch radius of the pickup, and their
 * prepaid credit must not be below the configured floor (cash commissions are taken from it; a
 * driver with no credit account has 0, above the floor). Whether the ride is still on offer is
 * the RideRoom's call (`ride_already_accepted`, `ride_not_requested`), and it is asked first: in
 * a race for a ride, every driver but the winner is answered from the room, in South America,
 * without a D1 read. The room also gives the ride's category and pickup, and the driver index of
 * the pickup's area the driver's status, vehicle and position (a driver within the radius is held
 * there, or in a neighbour near an edge): no D1 read either. The credit is a guard of the room's
 * write (`persistTransition`), so the winner makes that one batch and nothing before it.
 */
export async function acceptRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideView> {
  const ride = await refuseIfTaken(ctx, user.id, rideId);
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  const radius = acceptRadiusM(ctx);
  const driver = (await indexedDriver(ctx, user.id, pickup, radius)) ?? (await storedDriver(ctx, user.id));
  if (!driver?.category) throw new ApiError("vehicle_required", "Register a vehicle before accepting rides");
  if (!driver.online) throw new ApiError("driver_offline", "Go online before accepting rides");
  if (driver.category !== ride.category) {
    throw new ApiError(
      "vehicle_category_mismatch",
      `Your vehicle serves ${driver.category}, not ${ride.category}`,
    );
  }
  const position = freshPosition(ctx, driver);
  const away = Math.round(haversineMeters(position, pickup));
  if (away > radius) {
    throw new ApiError(
      "driver_too_far",
      `You are ${away} m from the pickup; rides are taken within ${radius} m`,
    );
  }
  const view = await act(ctx, rideId, { kind: "accept", driverId: user.id });
  if (driver.area) await ctx.driverIndex(driver.area).rideTaken(user.id, rideId);
  return view;
}

interface AcceptingDriver {
  online: boolean;
  category: string | null;
  lat: number | null;
  lng: number | null;
  seenAt: string | null;
  /** The index that holds him, told when he takes the ride. */
  area: string | null;
}

/**
 * The driver as the indexes of the areas around the pickup hold him (the newest if two do), or
 * null when none holds him. One index is enough anywhere but near an area's edge.
 */
async function indexedDriver(
  ctx: ServiceContext,
  driverId: string,
  pickup: LatLng,
  radiusM: number,
): Promise<AcceptingDriver | null> {
  const found = await Promise.all(
    areasAround(pickup, radiusM).map(async (area) => {
      const driver = await ctx.driverIndex(area).locate(driverId);
      return driver ? { driver, area } : null;
    }),
  );
  let newest: { driver: IndexedDriver; area: string } | null = null;
  for (const held of found) if (held && (!newest || held.driver.seenAt > newest.driver.seenAt)) newest = held;
  if (!newest) return null;
  const { driver, area } = newest;
  const seenAt = new Date(driver.seenAt).toISOString();
  return { online: true, category: driver.category, lat: driver.lat, lng: driver.lng, seenAt, area };
}

/**
 * A driver no index near the pickup holds is offline or far away (or an index lost him): D1's
 * row says which, with the same codes. Only refusals and a rebuilt index come this way.
 */
async function storedDriver(ctx: ServiceContext, driverId: string): Promise<AcceptingDriver | null> {
  const row = await ctx.db.select().from(drivers).where(eq(drivers.userId, driverId)).get();
  if (!row) return null;
  return {
    online: row.status === "online",
    category: row.vehicleCategory,
    lat: row.lastLat,
    lng: row.lastLng,
    seenAt: row.lastSeenAt,
    area:
      row.status === "online" && row.lastLat !== null && row.lastLng !== null
        ? areaOf({ lat: row.lastLat, lng: row.lastLng })
        : null,
  };
}

/**
 * The room's word on a ride no longer on offer, with the codes and words its state machine uses.
 * A ride still requested (or this driver's own, an accept retried) goes on to the full checks.
 */
async function refuseIfTaken(ctx: ServiceContext, driverId: string, rideId: string): Promise<RideStanding> {
  const standing = await ctx.rideRoom(rideId).standing();
  if (!standing) throw new ApiError("not_found", "No such ride");
  if (standing.status === "requested" || standing.driverId === driverId) return standing;
  if ((DRIVER_ACTIVE_STATUSES as readonly string[]).includes(standing.status)) {
    throw new ApiError("ride_already_accepted", "Another driver accepted this ride first");
  }
  throw new ApiError("ride_not_requested", `The ride is ${standing.status}`);
}

/**
 * The farthest a ride is shown or offered from a driver: the "near here" radius of
 * `GET /v1/rides/available` or dispatch's widest step, whichever is larger.
 */
export function acceptRadiusM(ctx: ServiceContext): number {
  return Math.max(ctx.config.NEARBY_RADIUS_M, ...ctx.config.DISPATCH_RADIUS_STEPS_M);
}
