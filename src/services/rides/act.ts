import type { ServiceContext } from "../context";
import { rideOrThrow } from "./room";
import type { ActResult, RideAction } from "./state";
import { type RideView, rideView } from "./view";

/** Asks the ride's room to apply an action; a refusal becomes an API error. */
export async function act(ctx: ServiceContext, rideId: string, action: RideAction): Promise<RideView> {
  const result = await ctx.rideRoom(rideId).act(action);
  recordOutcome(ctx, action, result);
  return rideView(rideOrThrow(result));
}

const seconds = (from: string | null, to: string | null) =>
  from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : undefined;

/** The transition (with the trip's duration on completion) and, for an accept, who won the race. */
function recordOutcome(ctx: ServiceContext, action: RideAction, result: ActResult): void {
  if (action.kind === "accept") {
    ctx.metrics.record({
      event: "accept",
      outcome: result.ok ? "won" : result.code,
      category: result.ok ? result.ride.category : "unknown",
      msSinceRequest: result.ok
        ? (seconds(result.ride.createdAt, result.ride.acceptedAt) ?? 0) * 1000
        : undefined,
    });
  }
  if (!result.ok) return;
  const ride = result.ride;
  ctx.metrics.record({
    event: "ride_transition",
    action: action.kind,
    status: ride.status,
    category: ride.category,
    seconds: ride.status === "completed" ? seconds(ride.startedAt, ride.completedAt) : undefined,
  });
}
