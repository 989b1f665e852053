import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { rideLocation } from "../rides/location";
import type { DriverLocation } from "../rides/room";
import { areaOf } from "./index-port";

/**
 * Records a location ping from an online driver, with no D1 round trip: the ping goes to the
 * driver index of the area it was sent from, which holds the driver's status, position and ride
 * (D1 receives positions only as the index's periodic snapshot). During a ride the whole ping also
 * goes to the ride's room, which streams it to the passenger and keeps the trip's trace.
 * `409 driver_offline` for a driver who is not online.
 */
export async function recordDriverLocation(
  ctx: ServiceContext,
  driverId: string,
  loc: DriverLocation,
): Promise<void> {
  const index = ctx.driverIndex(areaOf(loc));
  const pinged = await index.ping(driverId, { lat: loc.lat, lng: loc.lng }, ctx.now().getTime());
  if (!pinged.ok) throw new ApiError("driver_offline", "Go online before sending locations");
  if (!pinged.rideId) return;
  try {
    await rideLocation(ctx, driverId, pinged.rideId, loc);
  } catch (error) {
    // The ride ended (or was given to another driver) and the index has not heard yet: the room
    // is the authority on the ride, so the index learns it is over and the ping stands.
    if (!(error instanceof ApiError) || (error.code !== "forbidden" && error.code !== "not_found"))
      throw error;
    await index.rideEnded(driverId, pinged.rideId);
  }
}
