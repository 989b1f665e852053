import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { startRidePayment } from "../payments/start";
import { finalFare } from "../pricing/fares";
import { act } from "./act";
import { visibleRide } from "./queries";
import type { RideView } from "./view";

/**
 * Completes the trip. Distance and duration default to the estimate and the time since start;
 * the final fare is the ride's own pricing rule applied to them. Then the ride's payment starts
 * (a Pix charge, a card charge, nothing for cash); a provider failure is logged and never fails
 * the completion: reading the payment later creates what is missing.
 */
export async function completeRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  trip: { distance_m?: number; duration_s?: number },
): Promise<RideView> {
  const row = await visibleRide(ctx, user, rideId);
  if (row.driverId !== user.id) throw new ApiError("forbidden", "Only the assigned driver can do this");
  const elapsed = row.startedAt ? Math.round((ctx.now().getTime() - Date.parse(row.startedAt)) / 1000) : 0;
  const distanceM = trip.distance_m ?? row.estimatedDistanceM;
  const durationS = trip.duration_s ?? Math.max(elapsed, 0);
  const finalFareCents = await finalFare(ctx, row.pricingRuleId, {
    distance_m: distanceM,
    duration_s: durationS,
  });
  const ride = await act(ctx, rideId, {
    kind: "complete",
    driverId: user.id,
    distanceM,
    durationS,
    finalFareCents,
  });
  try {
    await startRidePayment(ctx, ride);
  } catch (error) {
    ctx.log.error("payment.start_failed", {
      ride_id: ride.id,
      payment_method: ride.payment_method,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
    });
  }
  return ride;
}
