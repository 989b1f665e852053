import type { AuthUser, ServiceContext } from "../context";
import { visibleRide } from "./queries";
import { rideOrThrow } from "./room";
import { type RideView, rideView } from "./view";

/**
 * The passenger ends a trip in progress before the dropoff (they got out early). The ride stays
 * in progress until the driver completes it, which is then allowed anywhere, and the fare is the
 * measured trip up to then, never more than the quote. Idempotent: a second call changes nothing.
 */
export async function endRideEarly(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideView> {
  await visibleRide(ctx, user, rideId);
  return rideView(rideOrThrow(await ctx.rideRoom(rideId).endEarly(user.id)));
}
