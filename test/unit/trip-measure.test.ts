import { describe, expect, it } from "vitest";
import { computeFare, type FareRule } from "../../src/services/pricing/fares";
import { type FarePolicy, settleFare, type TripFacts } from "../../src/services/rides/trip-fare";
import {
  MIN_TRACE_POINTS,
  measureTrace,
  plausiblePoints,
  type TracePoint,
  worthStoring,
} from "../../src/services/rides/trip-measure";

/** 0.001° of latitude is 111.2 m everywhere. */
const LAT_STEP_M = 111.19;

/** Points going north from the equator, `stepDeg` apart, `stepS` seconds apart. */
function north(count: number, stepDeg = 0.001, stepS = 10): TracePoint[] {
  return Array.from({ length: count }, (_, i) => ({ lat: i * stepDeg, lng: 0, at: i * stepS * 1000 }));
}

describe("measureTrace", () => {
  it("sums the distance along the trace in whole metres", () => {
    const measure = measureTrace(north(11));
    expect(measure).toMatchObject({ measured: true, points: 11 });
    if (!measure.measured) throw new Error("unmeasured");
    expect(measure.distanceM).toBeGreaterThanOrEqual(Math.floor(10 * LAT_STEP_M) - 1);
    expect(measure.distanceM).toBeLessThanOrEqual(Math.ceil(10 * LAT_STEP_M) + 1);
  });

  it("drops a point implying more than 50 m/s from the last kept point, and measures on from it", () => {
    const points = north(6);
    // 5 s after the third point, 5.5 km away: 1,100 m/s.
    const jump = { lat: 0.05, lng: 0, at: 25_000 };
    const withJump = [...points.slice(0, 3), jump, ...points.slice(3)];
    const clean = measureTrace(points);
    const jumped = measureTrace(withJump);
    expect(plausiblePoints(withJump)).toEqual(points);
    expect(jumped).toEqual(clean);
  });

  it("keeps a fast but possible point (45 m/s) and drops a moving point stamped at the same instant", () => {
    const a = { lat: 0, lng: 0, at: 0 };
    const fast = { lat: 0.004, lng: 0, at: 10_000 }; // 445 m in 10 s
    const sameInstant = { lat: 0.0041, lng: 0, at: 10_000 };
    expect(plausiblePoints([a, fast, sameInstant])).toEqual([a, fast]);
  });

  it("answers unmeasured below the minimum of points, and for a truncated trace", () => {
    expect(measureTrace(north(MIN_TRACE_POINTS - 1))).toMatchObject({
      measured: false,
      reason: "too_few_points",
    });
    expect(measureTrace([])).toEqual({ measured: false, reason: "too_few_points", last: undefined });
    expect(measureTrace(north(MIN_TRACE_POINTS))).toMatchObject({ measured: true });
    expect(measureTrace(north(20), true)).toMatchObject({ measured: false, reason: "trace_full" });
  });

  it("names the last plausible point, not a final jump", () => {
    const points = north(6);
    const teleport = { lat: 1, lng: 1, at: 51_000 };
    expect(measureTrace([...points, teleport]).last).toEqual(points.at(-1));
  });
});

describe("worthStoring (thinning)", () => {
  const last = { lat: 0, lng: 0, at: 0 };
  it("stores the first point, a point 20 m on, or one 15 s later; not a near point soon after", () => {
    expect(worthStoring(undefined, last)).toBe(true);
    expect(worthStoring(last, { lat: 0.0002, lng: 0, at: 2_000 })).toBe(true); // 22 m
    expect(worthStoring(last, { lat: 0.0001, lng: 0, at: 2_000 })).toBe(false); // 11 m
    expect(worthStoring(last, { lat: 0, lng: 0, at: 15_000 })).toBe(true);
  });
});

/** São Paulo `pop` as seeded. */
const POP: FareRule = {
  baseFareCents: 500,
  perKmCents: 150,
  perMinuteCents: 30,
  minimumFareCents: 800,
  bookingFeeCents: 100,
  surgeMultiplierBp: 10_000,
};
const POLICY: FarePolicy = { distanceTolerancePct: 20, durationToleranceS: 900, capBp: 20_000 };
const QUOTE = { fareCents: 1245, distanceM: 3330, durationS: 480 };

function facts(distanceM: number | null, durationS: number, endedEarly = false): TripFacts {
  const last = { lat: 0, lng: 0, at: 0 };
  return {
    quote: QUOTE,
    measure:
      distanceM === null
        ? { measured: false, reason: "too_few_points", last }
        : { measured: true, distanceM, points: 50, last },
    durationS,
    endedEarly,
  };
}

describe("settleFare", () => {
  it("charges the quote when the measure is within tolerance, either way", () => {
    for (const distance of [3330, 3996, 2664]) {
      expect(settleFare(POP, facts(distance, 480 + 900), POLICY)).toEqual({
        finalFareCents: 1245,
        distanceM: distance,
        durationS: 1380,
        fareReview: null,
      });
    }
  });

  it("charges the measured fare and flags the ride beyond the distance tolerance", () => {
    const settled = settleFare(POP, facts(4000, 600), POLICY);
    expect(settled.finalFareCents).toBe(computeFare(POP, { distance_m: 4000, duration_s: 600 }));
    expect(settled.fareReview).toMatch(/measured 4000 m/);
    // Shorter than quoted beyond tolerance: the passenger pays less, flagged the same way.
    const short = settleFare(POP, facts(1000, 200), POLICY);
    expect(short.finalFareCents).toBe(computeFare(POP, { distance_m: 1000, duration_s: 200 }));
    expect(short.fareReview).not.toBeNull();
  });

  it("charges the measured fare beyond the duration tolerance alone", () => {
    const settled = settleFare(POP, facts(3330, 480 + 901), POLICY);
    expect(settled.finalFareCents).toBe(computeFare(POP, { distance_m: 3330, duration_s: 1381 }));
    expect(settled.fareReview).not.toBeNull();
  });

  it("caps the measured fare at the multiple of the quote, rounding down", () => {
    const settled = settleFare(POP, facts(100_000, 3600), { ...POLICY, capBp: 15_000 });
    expect(settled.finalFareCents).toBe(1867); // 1245 × 1.5 = 1867.5
    expect(settled.fareReview).toMatch(/capped from/);
  });

  it("charges the quote for an unmeasured trip, whatever its duration", () => {
    expect(settleFare(POP, facts(null, 5000), POLICY)).toEqual({
      finalFareCents: 1245,
      distanceM: null,
      durationS: 5000,
      fareReview: null,
    });
  });

  it("ended early: the measured fare, never more than the quote", () => {
    expect(settleFare(POP, facts(1000, 200, true), POLICY).finalFareCents).toBe(
      computeFare(POP, { distance_m: 1000, duration_s: 200 }),
    );
    expect(settleFare(POP, facts(50_000, 3000, true), POLICY).finalFareCents).toBe(1245);
    expect(settleFare(POP, facts(null, 200, true), POLICY)).toMatchObject({ finalFareCents: 1245 });
  });
});
