import { and, eq, inArray } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { cellsWithin } from "../../lib/geo";
import type { ServiceContext } from "../context";
import type { OutgoingEvent } from "../events/wire";
import type { RideRow } from "./state";

/** At most this many drivers hear of one new ride. */
const OFFER_FAN_OUT = 50;

/** Sends a new ride as an offer to the online drivers of its category around the pickup. */
export async function offerToNearbyDrivers(
  ctx: ServiceContext,
  row: RideRow,
  offer: OutgoingEvent,
): Promise<void> {
  const nearby = await ctx.db
    .select({ userId: drivers.userId })
    .from(drivers)
    .where(
      and(
        eq(drivers.status, "online"),
        eq(drivers.vehicleCategory, row.category),
        inArray(
          drivers.lastCell,
          cellsWithin({ lat: row.pickupLat, lng: row.pickupLng }, ctx.config.NEARBY_RADIUS_M),
        ),
      ),
    )
    .limit(OFFER_FAN_OUT)
    .all();
  await ctx.publish(offer, { users: nearby.map(({ userId }) => userId) });
}
