import { and, asc, eq, gt } from "drizzle-orm";
import { rideOffers, rides } from "../../db/schema";
import type { ServiceContext } from "../context";
import { type DriverOfferView, driverOfferView } from "./view";

/** The driver's open offers (at most one, by the dispatch rule), of rides still requested. */
export async function listOpenOffers(ctx: ServiceContext, driverId: string): Promise<DriverOfferView[]> {
  const rows = await ctx.db
    .select({ offer: rideOffers, ride: rides })
    .from(rideOffers)
    .innerJoin(rides, eq(rides.id, rideOffers.rideId))
    .where(
      and(
        eq(rideOffers.driverId, driverId),
        eq(rideOffers.status, "open"),
        gt(rideOffers.expiresAt, ctx.now().toISOString()),
        eq(rides.status, "requested"),
      ),
    )
    .orderBy(asc(rideOffers.expiresAt));
  return rows.map(({ offer, ride }) => driverOfferView(ride, offer));
}
