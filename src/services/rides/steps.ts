import type { AuthUser, ServiceContext } from "../context";
import { act } from "./act";
import { visibleRide } from "./queries";
import type { RideView } from "./view";

/** The assigned driver reached the pickup (`arrive`) or picked the passenger up (`start`). */
export async function driverStep(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  kind: "arrive" | "start",
): Promise<RideView> {
  await visibleRide(ctx, user, rideId);
  return act(ctx, rideId, { kind, driverId: user.id });
}
