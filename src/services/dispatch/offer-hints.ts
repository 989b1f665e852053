import type { ServiceContext } from "../context";
import type { RideRow } from "../rides/state";
import { searchedAreas } from "./candidates";
import type { Notice } from "./step";

/**
 * Tells the driver indexes around the pickup what a step or a transition did to the ride's offers,
 * from the events it sends: the drivers just offered it are left out of searches until their
 * window ends, and those whose offer was withdrawn (accepted by another, the ride closed) are
 * found again at once. Without it, every ride requested near a driver holding an open offer had
 * D1 check him, twice, only to find him busy; and when the indexes' nearest drivers all held
 * offers, a free driver further out was never shortlisted. D1 stays the guard: a lost hint costs
 * only a few more drivers to check, a stale one hides a driver until his window ends.
 */
export async function hintOffers(ctx: ServiceContext, ride: RideRow, notices: Notice[]): Promise<void> {
  const opened: string[] = [];
  const closed: string[] = [];
  let until = 0;
  for (const { event, users } of notices) {
    const data = event.data as { expires_at?: unknown; reason?: unknown } | null;
    if (event.type === "ride.offered" && typeof data?.expires_at === "string") {
      opened.push(...users);
      until = Math.max(until, Date.parse(data.expires_at));
    } else if (event.type === "ride.offer_withdrawn" && data?.reason !== "expired") {
      closed.push(...users);
    }
  }
  if (opened.length > 0) await toIndexes(ctx, ride, (index) => index.offersOpened(ride.id, opened, until));
  if (closed.length > 0) await offersClosed(ctx, ride, closed);
}

/** The drivers' offers of the ride closed before their window ended (declined, withdrawn). */
export function offersClosed(
  ctx: ServiceContext,
  ride: Pick<RideRow, "id" | "pickupLat" | "pickupLng">,
  driverIds: string[],
): Promise<void> {
  return toIndexes(ctx, ride, (index) => index.offersClosed(ride.id, driverIds));
}

/** An offered driver was within the widest radius of the pickup: his index is one of those. */
async function toIndexes(
  ctx: ServiceContext,
  ride: Pick<RideRow, "id" | "pickupLat" | "pickupLng">,
  tell: (index: ReturnType<ServiceContext["driverIndex"]>) => Promise<void>,
): Promise<void> {
  const areas = searchedAreas(ctx, { lat: ride.pickupLat, lng: ride.pickupLng });
  const told = await Promise.allSettled(areas.map((area) => tell(ctx.driverIndex(area))));
  for (const result of told) {
    if (result.status === "rejected") {
      ctx.log.warn("driver index not told of offers", { ride_id: ride.id, error: String(result.reason) });
    }
  }
}
