import { ratings } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { visibleRide } from "./queries";

/** One rating per participant of a completed ride, of the other participant. */
export async function rateRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  input: { stars: number; comment?: string },
) {
  const row = await visibleRide(ctx, user, rideId);
  if (row.status !== "completed")
    throw new ApiError("invalid_transition", "Only a completed ride can be rated");
  const rateeId = user.id === row.passengerId ? row.driverId : row.passengerId;
  if (!rateeId) throw new ApiError("invalid_transition", "This ride has nobody to rate");
  const createdAt = ctx.now().toISOString();
  const inserted = await ctx.db
    .insert(ratings)
    .values({
      rideId,
      raterId: user.id,
      rateeId,
      stars: input.stars,
      comment: input.comment ?? null,
      createdAt,
    })
    .onConflictDoNothing()
    .returning({ rideId: ratings.rideId })
    .get();
  if (!inserted) throw new ApiError("already_rated", "You already rated this ride");
  return {
    ride_id: rideId,
    rater_id: user.id,
    ratee_id: rateeId,
    stars: input.stars,
    comment: input.comment ?? null,
    created_at: createdAt,
  };
}
