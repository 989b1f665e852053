import { eq } from "drizzle-orm";
import { DRIVER_ACTIVE_STATUSES, drivers, rides } from "../../db/schema";
import { haversineMeters } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { freshPosition } from "../drivers/position";
import { driverCreditStanding } from "../ledger/ride-postings";
import { act } from "./act";
import type { RideView } from "./view";

/**
 * A driver takes a ride: their vehicle must serve its category, they must be online with a fresh
 * stored position (`DRIVER_POSITION_MAX_AGE_S`) within the dispatch radius of the pickup, and
 * their prepaid credit must not be below the configured floor (cash commissions are taken from
 * it; a driver with no credit account has 0, above the floor). These are gates read before the
 * RideRoom is asked, not locks. Whether the ride is still on offer is the RideRoom's call
 * (`ride_already_accepted`, `ride_not_requested`), and it is asked first: in a race for a ride,
 * every driver but the winner is answered from the room, in South America, without a D1 read.
 */
export async function acceptRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideView> {
  await refuseIfTaken(ctx, user.id, rideId);
  const [row, driver, credit] = await Promise.all([
    ctx.db
      .select({ category: rides.category, pickupLat: rides.pickupLat, pickupLng: rides.pickupLng })
      .from(rides)
      .where(eq(rides.id, rideId))
      .get(),
    ctx.db.select().from(drivers).where(eq(drivers.userId, user.id)).get(),
    driverCreditStanding(ctx, user.id),
  ]);
  if (!row) throw new ApiError("not_found", "No such ride");
  if (!driver?.vehicleCategory)
    throw new ApiError("vehicle_required", "Register a vehicle before accepting rides");
  if (driver.status !== "online") throw new ApiError("driver_offline", "Go online before accepting rides");
  if (driver.vehicleCategory !== row.category) {
    throw new ApiError(
      "vehicle_category_mismatch",
      `Your vehicle serves ${driver.vehicleCategory}, not ${row.category}`,
    );
  }
  const position = freshPosition(ctx, {
    lat: driver.lastLat,
    lng: driver.lastLng,
    seenAt: driver.lastSeenAt,
  });
  const radius = acceptRadiusM(ctx);
  const away = Math.round(haversineMeters(position, { lat: row.pickupLat, lng: row.pickupLng }));
  if (away > radius) {
    throw new ApiError(
      "driver_too_far",
      `You are ${away} m from the pickup; rides are taken within ${radius} m`,
    );
  }
  if (!credit.mayAcceptRides) {
    throw new ApiError(
      "driver_credit_insufficient",
      `Your prepaid credit (${credit.creditCents} centavos) is below the floor of ${credit.floorCents}; top up to accept rides`,
    );
  }
  return act(ctx, rideId, { kind: "accept", driverId: user.id });
}

/**
 * The room's word on a ride no longer on offer, with the codes and words its state machine uses.
 * A ride still requested (or this driver's own, an accept retried) goes on to the full checks.
 */
async function refuseIfTaken(ctx: ServiceContext, driverId: string, rideId: string): Promise<void> {
  const standing = await ctx.rideRoom(rideId).standing();
  if (!standing) throw new ApiError("not_found", "No such ride");
  if (standing.status === "requested" || standing.driverId === driverId) return;
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
