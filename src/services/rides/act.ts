import type { ServiceContext } from "../context";
import { rideOrThrow } from "./room";
import type { RideAction } from "./state";
import { type RideView, rideView } from "./view";

/** Asks the ride's room to apply an action; a refusal becomes an API error. */
export async function act(ctx: ServiceContext, rideId: string, action: RideAction): Promise<RideView> {
  return rideView(rideOrThrow(await ctx.rideRoom(rideId).act(action)));
}
