import type { ServiceContext } from "../context";
import { type DriverLocation, rideOrThrow } from "./room";

/** Forwards the assigned driver's position to the ride's room (no D1 write per ping). */
export async function rideLocation(
  ctx: ServiceContext,
  driverId: string,
  rideId: string,
  location: DriverLocation,
): Promise<void> {
  rideOrThrow(await ctx.rideRoom(rideId).driverLocation(driverId, location));
}
