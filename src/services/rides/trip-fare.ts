import { computeFare, type FareRule } from "../pricing/fares";
import type { TraceMeasure } from "./trip-measure";

/** The configured tolerances of the fare policy (see `settleFare`). */
export interface FarePolicy {
  distanceTolerancePct: number;
  durationToleranceS: number;
  /** The most a measured fare may be, as a multiple of the quote, in basis points (2× = 20000). */
  capBp: number;
}

export interface TripFacts {
  quote: { fareCents: number; distanceM: number; durationS: number };
  measure: TraceMeasure;
  /** Whole seconds from the server's `started_at` to its `completed_at`. */
  durationS: number;
  /** The passenger ended the trip before the dropoff. */
  endedEarly: boolean;
}

export interface SettledFare {
  finalFareCents: number;
  /** The measured distance; null when the trace was too thin to measure. */
  distanceM: number | null;
  durationS: number;
  /** Why staff should look at the fare; null when the quote applied as agreed. */
  fareReview: string | null;
}

/**
 * The final fare, from the server's own measure only (never from the driver's figures):
 * - unmeasured trip (too few points): the quote;
 * - ended early by the passenger: the measured fare, never more than the quote;
 * - measured within tolerance of the quote (distance within `distanceTolerancePct` %, duration
 *   within `durationToleranceS`): the quote;
 * - beyond either tolerance: the ride's rule applied to the measured distance and duration,
 *   capped at `capBp` of the quote, and flagged for review.
 * Integer arithmetic throughout; the cap rounds down.
 */
export function settleFare(rule: FareRule, trip: TripFacts, policy: FarePolicy): SettledFare {
  const { quote, measure, durationS } = trip;
  if (!measure.measured) {
    return {
      finalFareCents: quote.fareCents,
      distanceM: null,
      durationS,
      fareReview: trip.endedEarly ? "ended early by the passenger; trip unmeasured, quote charged" : null,
    };
  }
  const distanceM = measure.distanceM;
  const measuredFare = computeFare(rule, { distance_m: distanceM, duration_s: durationS });
  if (trip.endedEarly) {
    return {
      finalFareCents: Math.min(measuredFare, quote.fareCents),
      distanceM,
      durationS,
      fareReview: null,
    };
  }
  const distanceOff =
    Math.abs(distanceM - quote.distanceM) * 100 > quote.distanceM * policy.distanceTolerancePct;
  const durationOff = Math.abs(durationS - quote.durationS) > policy.durationToleranceS;
  if (!distanceOff && !durationOff) {
    return { finalFareCents: quote.fareCents, distanceM, durationS, fareReview: null };
  }
  const cap = Math.floor((quote.fareCents * policy.capBp) / 10_000);
  const finalFareCents = Math.min(measuredFare, cap);
  const capped = measuredFare > cap ? `, capped from ${measuredFare}` : "";
  const fareReview =
    `measured ${distanceM} m in ${durationS} s against the quote's ${quote.distanceM} m in ${quote.durationS} s` +
    `: charged ${finalFareCents} instead of ${quote.fareCents}${capped}`;
  return { finalFareCents, distanceM, durationS, fareReview };
}
