import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { act } from "./act";
import { visibleRide } from "./queries";
import type { RideView } from "./view";

/**
 * The assigned driver reached the pickup (`arrive`) or picked the passenger up (`start`). The
 * room decides at once (one D1 write, no read before it): only the assigned driver can succeed,
 * and he sees the ride. A refusal is checked against what the caller may see, so a ride that is
 * not his to see still answers 404, as every other route does.
 */
export async function driverStep(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  kind: "arrive" | "start",
): Promise<RideView> {
  try {
    return await act(ctx, rideId, { kind, driverId: user.id });
  } catch (error) {
    if (error instanceof ApiError) await visibleRide(ctx, user, rideId);
    throw error;
  }
}
