import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { batchNamed } from "../../db/named-batch";
import { cities, pricingRules, quotes } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import { outstandingFeesOf, outstandingFeesQuery } from "../payments/outstanding-fees";
import { activeBoxHolds } from "./cities";
import {
  type PricedTrip,
  priceFrom,
  pricingReads,
  routeBetween,
  SURGE_BP_ONE,
  type TripRequest,
} from "./fares";
import type { RouteEstimate } from "./routing";

/** The reply of POST /v1/rides/quote. */
export interface QuoteView {
  quote_id: string;
  category: string;
  estimated_fare_cents: number;
  distance_m: number;
  duration_s: number;
  /** `surge_multiplier_bp / 10000`, e.g. 1.5; informative only, money uses the basis points. */
  surge_multiplier: number;
  expires_at: string;
  currency: "BRL";
  /** Unpaid cancellation fees: while above 0, requesting a ride is refused. */
  outstanding_fee_cents: number;
  outstanding_fee_ride_ids: string[];
}

type QuoteRow = typeof quotes.$inferInsert;

/**
 * Prices a trip now and stores the quote, valid for `QUOTE_TTL_SECONDS`; pickup and dropoff must
 * lie in the same service area. One D1 round trip in the usual case: with a local router the
 * route is estimated first, then one batch reads the price's inputs and the unpaid fees and writes a draft of the
 * quote, priced in SQL from the rule in force of the smallest area holding the pickup, with the
 * rule's own surge. The price the API answers is always `priceFrom`'s (the contract, in exact
 * integers, with the live surge and the areas' polygons): when the draft differs from it in
 * anything (a live surge, a polygon that excludes the smallest box, a failure), a second batch
 * replaces it or deletes it. So the fast path can never store a price the client was not told.
 */
export async function createQuote(
  ctx: ServiceContext,
  passengerId: string,
  trip: TripRequest,
): Promise<QuoteView> {
  const now = ctx.now();
  const draft = {
    id: newId("qte", now.getTime()),
    passengerId,
    category: trip.category,
    pickupLat: trip.pickup.lat,
    pickupLng: trip.pickup.lng,
    dropoffLat: trip.dropoff.lat,
    dropoffLng: trip.dropoff.lng,
    expiresAt: new Date(now.getTime() + ctx.config.QUOTE_TTL_SECONDS * 1000).toISOString(),
    createdAt: now.toISOString(),
  };
  // A paid router is asked only once the trip is known to be priced (inside `priceFrom`).
  const route = ctx.routing.local ? await routeBetween(ctx, trip.pickup, trip.dropoff) : undefined;
  const reads = await batchNamed(ctx.db, {
    ...pricingReads(ctx, passengerId, trip),
    fees: outstandingFeesQuery(ctx, passengerId),
    written: route ? draftInsert(ctx, draft, trip, route) : undefined,
  });
  const written = reads.written?.[0];
  let priced: PricedTrip;
  try {
    priced = await priceFrom(ctx, trip, reads, route);
  } catch (error) {
    if (written) await ctx.db.delete(quotes).where(eq(quotes.id, draft.id));
    throw error;
  }
  const row: QuoteRow = {
    ...draft,
    cityId: priced.city.id,
    pricingRuleId: priced.rule.id,
    distanceM: priced.distance_m,
    durationS: priced.duration_s,
    estimatedFareCents: priced.estimated_fare_cents,
    surgeMultiplierBp: priced.rule.surgeMultiplierBp,
  };
  if (!written || !sameQuote(written, row)) {
    await ctx.db.batch([
      ctx.db.delete(quotes).where(eq(quotes.id, draft.id)),
      ctx.db.insert(quotes).values(row),
    ]);
  }
  const owed = outstandingFeesOf(reads.fees);
  return {
    quote_id: draft.id,
    category: trip.category,
    estimated_fare_cents: priced.estimated_fare_cents,
    distance_m: priced.distance_m,
    duration_s: priced.duration_s,
    surge_multiplier: priced.rule.surgeMultiplierBp / SURGE_BP_ONE,
    expires_at: draft.expiresAt,
    currency: "BRL",
    outstanding_fee_cents: owed.totalCents,
    outstanding_fee_ride_ids: owed.rideIds,
  };
}

function sameQuote(written: Partial<QuoteRow>, row: QuoteRow): boolean {
  return (
    written.cityId === row.cityId &&
    written.pricingRuleId === row.pricingRuleId &&
    written.distanceM === row.distanceM &&
    written.durationS === row.durationS &&
    written.estimatedFareCents === row.estimatedFareCents &&
    written.surgeMultiplierBp === row.surgeMultiplierBp
  );
}

/**
 * The draft quote as an insert-select: the rule in force (latest version not retired, not in the
 * future) of the smallest active box holding the pickup, only if the smallest box holding the
 * dropoff is the same city. `computeFare` in SQL integers (64-bit: exact for any real fare);
 * `createQuote` keeps the draft only if it equals what `priceFrom` answers.
 */
function draftInsert(
  ctx: ServiceContext,
  draft: Omit<
    QuoteRow,
    "cityId" | "pricingRuleId" | "distanceM" | "durationS" | "estimatedFareCents" | "surgeMultiplierBp"
  >,
  trip: TripRequest,
  route: RouteEstimate,
) {
  const smallestCityAt = (point: TripRequest["pickup"]): SQL =>
    sql`(${ctx.db
      .select({ id: cities.id })
      .from(cities)
      .where(activeBoxHolds(point))
      .orderBy(
        asc(sql`(${cities.maxLat} - ${cities.minLat}) * (${cities.maxLng} - ${cities.minLng})`),
        asc(cities.id),
      )
      .limit(1)})`;
  const at = draft.createdAt;
  const rule = ctx.db
    .select({ id: pricingRules.id })
    .from(pricingRules)
    .where(
      and(
        sql`${pricingRules.cityId} = ${smallestCityAt(trip.pickup)}`,
        sql`${pricingRules.cityId} = ${smallestCityAt(trip.dropoff)}`,
        eq(pricingRules.category, trip.category),
        sql`${pricingRules.effectiveFrom} <= ${at}`,
        sql`${pricingRules.retiredAt} IS NULL`,
      ),
    )
    .orderBy(sql`${pricingRules.effectiveFrom} DESC`, asc(pricingRules.id))
    .limit(1);
  const surge = sql`min(max(${pricingRules.surgeMultiplierBp}, ${pricingRules.surgeMinBp}), ${pricingRules.surgeMaxBp})`;
  // Bound numbers may arrive as REAL: cast, so every step is integer arithmetic as in BigInt.
  const distance = sql`CAST(${route.distance_m} AS INTEGER)`;
  const duration = sql`CAST(${route.duration_s} AS INTEGER)`;
  const metered = sql`((${pricingRules.baseFareCents} * 60000 + ${pricingRules.perKmCents} * ${distance} * 60 + ${pricingRules.perMinuteCents} * ${duration} * 1000) * ${surge} + 300000000) / 600000000`;
  return ctx.db
    .insert(quotes)
    .select(
      ctx.db
        .select({
          id: sql<string>`${draft.id}`.as("id"),
          passengerId: sql<string>`${draft.passengerId}`.as("passenger_id"),
          cityId: pricingRules.cityId,
          category: pricingRules.category,
          pricingRuleId: sql<string>`${pricingRules.id}`.as("pricing_rule_id"),
          pickupLat: sql<number>`${draft.pickupLat}`.as("pickup_lat"),
          pickupLng: sql<number>`${draft.pickupLng}`.as("pickup_lng"),
          dropoffLat: sql<number>`${draft.dropoffLat}`.as("dropoff_lat"),
          dropoffLng: sql<number>`${draft.dropoffLng}`.as("dropoff_lng"),
          distanceM: sql<number>`${distance}`.as("distance_m"),
          durationS: sql<number>`${duration}`.as("duration_s"),
          estimatedFareCents:
            sql<number>`max(${metered}, ${pricingRules.minimumFareCents}) + ${pricingRules.bookingFeeCents}`.as(
              "estimated_fare_cents",
            ),
          surgeMultiplierBp: sql<number>`${surge}`.as("surge_multiplier_bp"),
          expiresAt: sql<string>`${draft.expiresAt}`.as("expires_at"),
          createdAt: sql<string>`${draft.createdAt}`.as("created_at"),
        })
        .from(pricingRules)
        .where(inArray(pricingRules.id, rule)),
    )
    .returning();
}
