import { and, desc, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";
import ngeohash from "ngeohash";
import { cities, surges } from "../../db/schema";
import type { LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { activeBoxHolds } from "./cities";

/** A surge zone is a geohash cell prefix of 1 to this many characters (7 ≈ 150 m × 150 m). */
export const SURGE_ZONE_MAX_PRECISION = 7;

/** The bounds of the rule that prices the trip: a surge is clamped into them. */
export interface SurgeBounds {
  surgeMinBp: number;
  surgeMaxBp: number;
  surgeMultiplierBp: number;
}

/**
 * The live surges that may apply to a pickup: for any city whose box holds it, the category,
 * unexpired, whole-city or a zone that is a prefix of the pickup's cell. No input depends on
 * another read, so it can go in the quote's one batch; `surgeBpFrom` then keeps the city's own.
 */
export function liveSurgesQuery(ctx: ServiceContext, pickup: LatLng, category: string) {
  const cell = ngeohash.encode(pickup.lat, pickup.lng, SURGE_ZONE_MAX_PRECISION);
  return ctx.db
    .select({
      id: surges.id,
      cityId: surges.cityId,
      zone: surges.zone,
      multiplierBp: surges.multiplierBp,
    })
    .from(surges)
    .where(
      and(
        inArray(surges.cityId, ctx.db.select({ id: cities.id }).from(cities).where(activeBoxHolds(pickup))),
        eq(surges.category, category),
        gt(surges.expiresAt, ctx.now().toISOString()),
        or(isNull(surges.zone), sql`substr(${cell}, 1, length(${surges.zone})) = ${surges.zone}`),
      ),
    )
    .orderBy(desc(surges.id));
}

export type LiveSurge = Awaited<ReturnType<ReturnType<typeof liveSurgesQuery>["all"]>>[number];

/**
 * The multiplier a trip is priced with, in basis points: of the city's live surges, the most
 * specific zone (the longest prefix; whole city last), the newest of those; clamped to the
 * rule's bounds. Without a surge, the rule's own multiplier (the floor of its bounds).
 */
export function surgeBpFrom(live: LiveSurge[], cityId: string, rule: SurgeBounds): number {
  let best: LiveSurge | undefined;
  for (const surge of live) {
    if (surge.cityId !== cityId) continue;
    // Rows come newest first, so a strictly longer zone is the only thing that replaces `best`.
    if (!best || (surge.zone?.length ?? 0) > (best.zone?.length ?? 0)) best = surge;
  }
  const wanted = best ? best.multiplierBp : rule.surgeMultiplierBp;
  return Math.min(Math.max(wanted, rule.surgeMinBp), rule.surgeMaxBp);
}
