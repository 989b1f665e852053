import { and, asc, desc, eq, gt, inArray, isNull, lte, notExists } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { batchNamed, type NamedResults } from "../../db/named-batch";
import { cities, pricingRules, quotes } from "../../db/schema";
import { haversineMeters, type LatLng } from "../../lib/geo";
import { ApiError, type FieldError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { activeBoxHolds, type City, cityCandidatesQuery, cityOrThrow, pickCity } from "./cities";
import type { RouteEstimate } from "./routing";
import { liveSurgesQuery, surgeBpFrom } from "./surge";

export type PricingRule = typeof pricingRules.$inferSelect;

/** The parts of a rule the fare depends on. */
export type FareRule = Pick<
  PricingRule,
  | "baseFareCents"
  | "perKmCents"
  | "perMinuteCents"
  | "minimumFareCents"
  | "bookingFeeCents"
  | "surgeMultiplierBp"
>;

/** A trip's length: whole metres and whole seconds. */
export interface TripMeasure {
  distance_m: number;
  duration_s: number;
}

/** 10000 basis points = a 1.0x surge multiplier. */
export const SURGE_BP_ONE = 10_000;

/** How far a ride's pickup or dropoff may be from its quote's and still keep the quoted price. */
export const QUOTE_MATCH_TOLERANCE_M = 100;

// Common denominator of the metered amount: per_km is per 1000 m, per_minute per 60 s, surge
// per 10000 bp. 60 000 is a multiple of both 1000 and 60, so every term is a whole numerator.
const PER_KM_SCALE = 60n; // 60 000 / 1000
const PER_MINUTE_SCALE = 1_000n; // 60 000 / 60
const BASE_SCALE = 60_000n;
const DENOMINATOR = BASE_SCALE * BigInt(SURGE_BP_ONE); // 600 000 000

/**
 * The fare of a trip under a rule, in integer centavos. This is the contract:
 *
 *     metered = (base_fare + per_km × distance_m / 1000 + per_minute × duration_s / 60)
 *               × surge_multiplier_bp / 10000
 *     fare    = max(round_half_up(metered), minimum_fare) + booking_fee
 *
 * - Every input is a non-negative integer: centavos, metres, seconds, basis points.
 * - `metered` is an exact fraction (BigInt numerator over the common denominator
 *   60 000 × 10 000) and is rounded ONCE, at the end, half up to a whole centavo:
 *   830.5 centavos → 831, 830.4999 → 830. Distance, duration and partial sums are never
 *   rounded on their own, and no floating point touches the amount.
 * - Surge multiplies the metered amount only. The minimum fare is a floor for the surged,
 *   rounded metered amount. The booking fee is added after the floor: it is never surged and
 *   never counts toward the minimum.
 *
 * The same function prices the quote (estimated distance and duration) and the final fare
 * (the trip's reported distance and duration), so both follow one rule.
 */
export function computeFare(rule: FareRule, trip: TripMeasure): number {
  const base = nonNegative("baseFareCents", rule.baseFareCents);
  const perKm = nonNegative("perKmCents", rule.perKmCents);
  const perMinute = nonNegative("perMinuteCents", rule.perMinuteCents);
  const minimum = nonNegative("minimumFareCents", rule.minimumFareCents);
  const bookingFee = nonNegative("bookingFeeCents", rule.bookingFeeCents);
  const surgeBp = nonNegative("surgeMultiplierBp", rule.surgeMultiplierBp);
  const distance = nonNegative("distance_m", trip.distance_m);
  const duration = nonNegative("duration_s", trip.duration_s);

  const numerator =
    (base * BASE_SCALE + perKm * distance * PER_KM_SCALE + perMinute * duration * PER_MINUTE_SCALE) * surgeBp;
  // Half up: add half the denominator, then floor (BigInt division truncates, and all is >= 0).
  const metered = (numerator + DENOMINATOR / 2n) / DENOMINATOR;
  const fare = (metered > minimum ? metered : minimum) + bookingFee;
  if (fare > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("computeFare: fare is out of range");
  return Number(fare);
}

function nonNegative(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`computeFare: ${name} must be a non-negative integer, got ${value}`);
  }
  return BigInt(value);
}

/**
 * The rule in force for each city whose box holds `point`, for a category at a moment: per city,
 * the version with the latest `effective_from` not after `at` (ISO 8601 UTC strings compare
 * correctly as text). A version dated in the future is ignored until its time comes. One row per
 * candidate city, so it can go out in the same batch as the city lookup it depends on.
 */
export function rulesInForceQuery(ctx: ServiceContext, point: LatLng, category: string, at: Date) {
  const atIso = at.toISOString();
  const newer = alias(pricingRules, "newer");
  return ctx.db
    .select()
    .from(pricingRules)
    .where(
      and(
        inArray(
          pricingRules.cityId,
          ctx.db.select({ id: cities.id }).from(cities).where(activeBoxHolds(point)),
        ),
        eq(pricingRules.category, category),
        lte(pricingRules.effectiveFrom, atIso),
        // A retired version is never picked; the previous one is in force again.
        isNull(pricingRules.retiredAt),
        notExists(
          ctx.db
            .select({ id: newer.id })
            .from(newer)
            .where(
              and(
                eq(newer.cityId, pricingRules.cityId),
                eq(newer.category, pricingRules.category),
                lte(newer.effectiveFrom, atIso),
                gt(newer.effectiveFrom, pricingRules.effectiveFrom),
                isNull(newer.retiredAt),
              ),
            ),
        ),
      ),
    )
    .orderBy(desc(pricingRules.effectiveFrom), asc(pricingRules.id));
}

export async function ruleById(ctx: ServiceContext, id: string): Promise<PricingRule | undefined> {
  return ctx.db.select().from(pricingRules).where(eq(pricingRules.id, id)).get();
}

export interface TripRequest {
  pickup: LatLng;
  dropoff: LatLng;
  category: string;
}

export interface PricedTrip {
  city: City;
  rule: PricingRule;
  distance_m: number;
  duration_s: number;
  estimated_fare_cents: number;
  quote_id: string | null;
}

type PricedRequest = TripRequest & { quote_id?: string | null };

/**
 * The D1 reads that price a trip, as named statements for the caller's one batch (a ride request
 * adds its own gates to it, a quote its fees). None depends on another's result: the rules are
 * read for every city whose box holds the pickup, and `priceFrom` keeps the one of the city it
 * picks. A new input to the price is one more entry here and its use in `priceFrom`.
 */
export function pricingReads(ctx: ServiceContext, passengerId: string, trip: PricedRequest) {
  const quoted = trip.quote_id
    ? and(eq(quotes.id, trip.quote_id), eq(quotes.passengerId, passengerId))
    : undefined;
  return {
    pickupCities: cityCandidatesQuery(ctx, trip.pickup),
    dropoffCities: quoted ? undefined : cityCandidatesQuery(ctx, trip.dropoff),
    quote: quoted ? ctx.db.select().from(quotes).where(quoted).limit(1) : undefined,
    rules: quoted
      ? ctx.db
          .select()
          .from(pricingRules)
          .where(
            inArray(pricingRules.id, ctx.db.select({ id: quotes.pricingRuleId }).from(quotes).where(quoted)),
          )
      : rulesInForceQuery(ctx, trip.pickup, trip.category, ctx.now()),
    // Surge (staff-set, per city, category and zone): only a fresh estimate reads it.
    surges: quoted ? undefined : liveSurgesQuery(ctx, trip.pickup, trip.category),
  };
}

export type PricingReads = NamedResults<ReturnType<typeof pricingReads>>;

/** The price of a ride being requested, read on its own (a ride request batches `pricingReads`). */
export async function priceRide(
  ctx: ServiceContext,
  passengerId: string,
  trip: PricedRequest,
): Promise<PricedTrip> {
  return priceFrom(ctx, trip, await batchNamed(ctx.db, pricingReads(ctx, passengerId, trip)));
}

/**
 * The price from what `pricingReads` found. With a `quote_id`, the quote must be the passenger's
 * own (anyone else's answers `quote_not_found`, revealing nothing), unexpired (`quote_expired`)
 * and for the same category with pickup and dropoff each within `QUOTE_MATCH_TOLERANCE_M` of the
 * quoted ones (`quote_mismatch`); the ride then keeps the quoted price, distance, duration and
 * rule, even if a newer pricing version took effect since. Without one, a fresh estimate.
 */
export async function priceFrom(
  ctx: ServiceContext,
  trip: PricedRequest,
  reads: Pick<PricingReads, keyof PricingReads>,
  route?: RouteEstimate,
): Promise<PricedTrip> {
  const quote = reads.quote?.[0];
  if (!trip.quote_id) return { ...(await estimate(ctx, trip, reads, route)), quote_id: null };
  if (!quote) throw new ApiError("quote_not_found", "No such quote for this account");
  if (ctx.now().getTime() >= Date.parse(quote.expiresAt)) {
    throw new ApiError("quote_expired", `The quote expired at ${quote.expiresAt}; ask for a new one`);
  }

  const mismatches: FieldError[] = [];
  if (quote.category !== trip.category) {
    mismatches.push({ path: "category", message: `the quote is for "${quote.category}"` });
  }
  const far = `more than ${QUOTE_MATCH_TOLERANCE_M} m from the quoted one`;
  if (
    haversineMeters({ lat: quote.pickupLat, lng: quote.pickupLng }, trip.pickup) > QUOTE_MATCH_TOLERANCE_M
  ) {
    mismatches.push({ path: "pickup", message: far });
  }
  if (
    haversineMeters({ lat: quote.dropoffLat, lng: quote.dropoffLng }, trip.dropoff) > QUOTE_MATCH_TOLERANCE_M
  ) {
    mismatches.push({ path: "dropoff", message: far });
  }
  if (mismatches.length > 0) {
    const detail = `The quote was given for another trip: ${mismatches.map((m) => m.path).join(", ")} differ`;
    throw new ApiError("quote_mismatch", detail, { errors: mismatches });
  }

  const city = cityOrThrow(reads.pickupCities, trip.pickup, "pickup");
  if (city.id !== quote.cityId) {
    throw new ApiError("quote_mismatch", "The quote was given in another service area", {
      errors: [{ path: "pickup", message: "in another service area than the quote" }],
    });
  }
  const rule = reads.rules.find((r) => r.id === quote.pricingRuleId);
  // Rules are never deleted while quotes point at them; a missing one is our bug, not the caller's.
  if (!rule) throw new Error(`pricing rule ${quote.pricingRuleId} of quote ${quote.id} is missing`);
  return {
    city,
    // The rule as the quote priced it: with the surge the passenger was shown, live or not now.
    rule: { ...rule, surgeMultiplierBp: quote.surgeMultiplierBp },
    distance_m: quote.distanceM,
    duration_s: quote.durationS,
    estimated_fare_cents: quote.estimatedFareCents,
    quote_id: quote.id,
  };
}

/** The final fare of a ride from its reported distance and duration, under the ride's own rule. */
export async function finalFare(ctx: ServiceContext, ruleId: string, trip: TripMeasure): Promise<number> {
  const rule = await ruleById(ctx, ruleId);
  if (!rule) throw new Error(`pricing rule ${ruleId} is missing`);
  return computeFare(rule, trip);
}

/** Today's price of a trip: its city, the rule in force, the route estimate and the fare. */
async function estimate(
  ctx: ServiceContext,
  trip: TripRequest,
  reads: Pick<PricingReads, "pickupCities" | "dropoffCities" | "rules" | "surges">,
  known?: RouteEstimate,
): Promise<Omit<PricedTrip, "quote_id">> {
  const city = cityOrThrow(reads.pickupCities, trip.pickup, "pickup");
  const dropoffCity = pickCity(reads.dropoffCities ?? [], trip.dropoff);
  if (dropoffCity?.id !== city.id) {
    throw new ApiError("outside_service_area", `The dropoff must be inside the ${city.name} service area`, {
      errors: [{ path: "dropoff", message: `outside the ${city.name} service area` }],
    });
  }
  const rule = reads.rules.find((r) => r.cityId === city.id);
  if (!rule) {
    throw new ApiError("category_not_offered", `The category "${trip.category}" is not offered there`, {
      errors: [{ path: "category", message: "not offered in this city" }],
    });
  }
  // Only once the trip is known to be offered (a real router may be a paid, slow call), unless
  // the caller asked first (a quote, to write itself in the batch of reads).
  const route = known ?? (await routeBetween(ctx, trip.pickup, trip.dropoff));
  // The rule as priced: its multiplier replaced by the live surge, clamped to its bounds.
  const surged = { ...rule, surgeMultiplierBp: surgeBpFrom(reads.surges ?? [], city.id, rule) };
  return { city, rule: surged, ...route, estimated_fare_cents: computeFare(surged, route) };
}

/** Asks the configured router, and holds it to its contract of non-negative whole numbers. */
export async function routeBetween(ctx: ServiceContext, from: LatLng, to: LatLng): Promise<RouteEstimate> {
  const { distance_m, duration_s } = await ctx.routing.route(from, to);
  for (const value of [distance_m, duration_s]) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`routing provider returned ${value}`);
  }
  return { distance_m: Math.round(distance_m), duration_s: Math.round(duration_s) };
}
