import { and, desc, eq, lt } from "drizzle-orm";
import { rides } from "../../db/schema";
import { type PageQuery, pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import type { RideRow } from "./state";
import { type OfferView, offerView, type RideView, rideView } from "./view";

/**
 * The ride as the caller may see it: its passenger, its driver, or (while it is on offer) any
 * driver. Anyone else gets 404, so ride ids reveal nothing.
 */
export async function visibleRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideRow> {
  const row = await ctx.db.select().from(rides).where(eq(rides.id, rideId)).get();
  const visible =
    row &&
    (row.passengerId === user.id ||
      row.driverId === user.id ||
      (user.role === "driver" && row.status === "requested"));
  if (!row || !visible) throw new ApiError("not_found", "No such ride");
  return row;
}

/** The ride for its passenger and its driver; a driver not (yet) assigned gets the offer view. */
export async function getRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
): Promise<RideView | OfferView> {
  const row = await visibleRide(ctx, user, rideId);
  const party = row.passengerId === user.id || row.driverId === user.id;
  return party ? rideView(row) : offerView(row);
}

export async function listRides(ctx: ServiceContext, user: AuthUser, page: PageQuery) {
  const owner = user.role === "driver" ? eq(rides.driverId, user.id) : eq(rides.passengerId, user.id);
  const rows = await ctx.db
    .select()
    .from(rides)
    .where(page.cursor ? and(owner, lt(rides.id, page.cursor)) : owner)
    .orderBy(desc(rides.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(rideView), next_cursor };
}

/** Who takes part in a ride (its passenger and driver, if any), or undefined for no such ride. */
export async function rideParticipants(
  ctx: ServiceContext,
  rideId: string,
): Promise<{ passengerId: string; driverId: string | null } | undefined> {
  return ctx.db
    .select({ passengerId: rides.passengerId, driverId: rides.driverId })
    .from(rides)
    .where(eq(rides.id, rideId))
    .get();
}
