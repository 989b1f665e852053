import { and, eq, gt } from "drizzle-orm";
import { batchNamed } from "../../db/named-batch";
import { rideOffers, rides } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { offersClosed } from "./offer-hints";
import { openOffersOf } from "./offers";

export interface DeclinedOffer {
  ride_id: string;
  status: "declined";
  batch: number;
  offered_at: string;
  responded_at: string;
}

/**
 * The offered driver turns the ride down. Only an open offer within its window can be declined:
 * no offer of this ride to him is `404`, any other state `409 offer_not_open`. When no offer of
 * the ride is left open, the ride's room sends the next batch at once instead of waiting out the
 * window; the driver's index finds him again for other rides at once.
 */
export async function declineOffer(
  ctx: ServiceContext,
  driverId: string,
  rideId: string,
): Promise<DeclinedOffer> {
  const now = ctx.now();
  const at = now.toISOString();
  // One round trip: the decline, what is still open of the ride after it, and its pickup (which
  // names the driver index to tell).
  const reads = await batchNamed(ctx.db, {
    declined: ctx.db
      .update(rideOffers)
      .set({ status: "declined", respondedAt: at })
      .where(
        and(
          eq(rideOffers.rideId, rideId),
          eq(rideOffers.driverId, driverId),
          eq(rideOffers.status, "open"),
          gt(rideOffers.expiresAt, at),
        ),
      )
      .returning(),
    open: openOffersOf(ctx, rideId, now),
    ride: ctx.db
      .select({ id: rides.id, pickupLat: rides.pickupLat, pickupLng: rides.pickupLng })
      .from(rides)
      .where(eq(rides.id, rideId)),
  });
  const declined = reads.declined[0];
  if (!declined) {
    const offer = await ctx.db
      .select({ status: rideOffers.status })
      .from(rideOffers)
      .where(and(eq(rideOffers.rideId, rideId), eq(rideOffers.driverId, driverId)))
      .get();
    if (!offer) throw new ApiError("not_found", "This ride was not offered to you");
    const state = offer.status === "open" ? "past its window" : offer.status;
    throw new ApiError("offer_not_open", `Your offer of this ride is ${state}`);
  }
  await Promise.all([
    reads.ride[0] ? offersClosed(ctx, reads.ride[0], [driverId]) : undefined,
    reads.open.length === 0 ? ctx.rideRoom(rideId).dispatchNow() : undefined,
  ]);
  return {
    ride_id: rideId,
    status: "declined",
    batch: declined.batch,
    offered_at: declined.offeredAt,
    responded_at: at,
  };
}
