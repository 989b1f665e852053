import type { AuthUser, ServiceContext } from "../context";
import { startRidePayment } from "../payments/start";
import { announceWallets } from "../wallet/updated";
import { visibleRide } from "./queries";
import { type ReportedTrip, rideOrThrow } from "./room";
import { type RideView, rideView } from "./view";

/**
 * Completes the trip. The ride's room settles the fare from its own trace of the trip and the
 * server's times (see `prepareCompletion`); the distance and duration the driver sends are stored
 * as advisory and never priced. Then the ride's payment starts (a Pix charge, a card charge,
 * nothing for cash); a provider failure is logged and never fails the completion: reading the
 * payment later creates what is missing.
 */
export async function completeRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  reported: ReportedTrip,
): Promise<RideView> {
  await visibleRide(ctx, user, rideId);
  const ride = rideView(rideOrThrow(await ctx.rideRoom(rideId).complete(user.id, reported)));
  try {
    await startRidePayment(ctx, ride);
  } catch (error) {
    ctx.log.error("payment.start_failed", {
      ride_id: ride.id,
      payment_method: ride.payment_method,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
    });
  }
  // A cash ride's commission left the driver's credit in the completion's own batch.
  if (ride.payment_method === "cash") await announceWallets(ctx, [ride.driver_id]);
  return ride;
}
