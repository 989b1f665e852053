import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeFare, type FareRule } from "../../src/services/pricing/fares";

/** São Paulo `pop` as seeded by migrations/0002: R$ 5,00 + R$ 1,50/km + R$ 0,30/min, min R$ 8,00, fee R$ 1,00. */
const POP: FareRule = {
  baseFareCents: 500,
  perKmCents: 150,
  perMinuteCents: 30,
  minimumFareCents: 800,
  bookingFeeCents: 100,
  surgeMultiplierBp: 10_000,
};

/** A rule with no minimum and no fee, to look at the metered amount and its rounding alone. */
const BARE: FareRule = { ...POP, minimumFareCents: 0, bookingFeeCents: 0 };

describe("computeFare: hand-computed examples", () => {
  it.each([
    // 500 + 150 × 5 km (750) + 30 × 15 min (450) = 1700 ≥ 800; + 100 fee = 1800
    { name: "5 km in 15 min", distance_m: 5000, duration_s: 900, fare: 1800 },
    // 500 + 150 × 3.72 (558) + 30 × 536/60 (268) = 1326; + 100 = 1426
    { name: "3.72 km in 8 min 56 s", distance_m: 3720, duration_s: 536, fare: 1426 },
    // 500 + 150 × 12.345 (1851.75) + 30 × 1834/60 (917) = 3268.75 → 3269; + 100 = 3369
    { name: "12.345 km in 30 min 34 s", distance_m: 12_345, duration_s: 1834, fare: 3369 },
    // 500 + 0 + 0 = 500 < 800 → 800; + 100 = 900
    { name: "a zero-length trip pays the minimum and the fee", distance_m: 0, duration_s: 0, fare: 900 },
  ])("$name → $fare centavos", ({ distance_m, duration_s, fare }) => {
    expect(computeFare(POP, { distance_m, duration_s })).toBe(fare);
  });

  it("applies the minimum fare to a short trip", () => {
    // 500 + 150 × 1.234 (185.1) + 30 × 187/60 (93.5) = 778.6 → 779 < 800 → 800; + 100 = 900
    expect(computeFare(POP, { distance_m: 1234, duration_s: 187 })).toBe(900);
    // Just above the minimum it no longer applies: 500 + 150 × 1.5 (225) + 30 × 3 (90) = 815; + 100
    expect(computeFare(POP, { distance_m: 1500, duration_s: 180 })).toBe(915);
  });

  it("adds the booking fee after the minimum, so it never counts toward it", () => {
    // metered 605 (500 + 75 + 30). Fee inside the minimum would give max(705, 800) = 800;
    // the rule gives max(605, 800) + 100 = 900.
    expect(computeFare(POP, { distance_m: 500, duration_s: 60 })).toBe(900);
    expect(computeFare({ ...POP, bookingFeeCents: 0 }, { distance_m: 500, duration_s: 60 })).toBe(800);
  });

  it("multiplies the metered amount by a 1.5x surge, but not the booking fee", () => {
    const surge = { ...POP, surgeMultiplierBp: 15_000 };
    // 1700 × 1.5 = 2550; + 100 = 2650 (a surged fee would give 2700)
    expect(computeFare(surge, { distance_m: 5000, duration_s: 900 })).toBe(2650);
    // 605 × 1.5 = 907.5 → 908 ≥ 800; + 100 = 1008: the minimum floors the surged amount
    expect(computeFare(surge, { distance_m: 500, duration_s: 60 })).toBe(1008);
    // 778.6 × 1.5 = 1167.9 → 1168; + 100 = 1268
    expect(computeFare(surge, { distance_m: 1234, duration_s: 187 })).toBe(1268);
  });
});

describe("computeFare: rounding, once and half up", () => {
  it("rounds an amount landing exactly on half a centavo up", () => {
    // 500 + 150 × 2 (300) + 30 × 61/60 (30.5) = 830.5 → 831
    expect(computeFare(BARE, { distance_m: 2000, duration_s: 61 })).toBe(831);
    // 5000 × 1.0001 = 5000.5 → 5001
    const base = { ...BARE, perKmCents: 0, perMinuteCents: 0, surgeMultiplierBp: 10_001 };
    expect(computeFare({ ...base, baseFareCents: 5000 }, { distance_m: 0, duration_s: 0 })).toBe(5001);
  });

  it("rounds .4999 of a centavo down", () => {
    // 4999 × 1.0001 = 4999.4999 → 4999
    const rule = {
      ...BARE,
      baseFareCents: 4999,
      perKmCents: 0,
      perMinuteCents: 0,
      surgeMultiplierBp: 10_001,
    };
    expect(computeFare(rule, { distance_m: 0, duration_s: 0 })).toBe(4999);
    // Around a boundary without surge: 500 + 150 × 1.997 km (299.55) = 799.55 → 800, and one metre
    // less, 500 + 150 × 1.996 km (299.4) = 799.4 → 799
    expect(computeFare(BARE, { distance_m: 1997, duration_s: 0 })).toBe(800);
    expect(computeFare(BARE, { distance_m: 1996, duration_s: 0 })).toBe(799);
  });

  it("rounds only the total, not each part", () => {
    // 1 × 0.4 km = 0.4 and 24 × 1/60 min = 0.4: rounding each part gives 0 + 0, the total 0.8 gives 1
    const rule = { ...BARE, baseFareCents: 0, perKmCents: 1, perMinuteCents: 24 };
    expect(computeFare(rule, { distance_m: 400, duration_s: 1 })).toBe(1);
  });

  it("gets right what floating point gets wrong", () => {
    // (500 + 150 × 1.904 + 30 × 1) × 1.25 = 815.6 × 1.25 = 1019.5 exactly → 1020; + 100 = 1120.
    // In doubles the same expression is 1019.4999999999999 and Math.round gives 1019.
    const naive = (500 + 150 * (1904 / 1000) + 30 * (60 / 60)) * (12_500 / 10_000);
    expect(Math.round(naive)).toBe(1019);
    expect(computeFare({ ...POP, surgeMultiplierBp: 12_500 }, { distance_m: 1904, duration_s: 60 })).toBe(
      1120,
    );
  });

  it("refuses inputs that are not non-negative integers", () => {
    expect(() => computeFare(POP, { distance_m: 1.5, duration_s: 0 })).toThrow(RangeError);
    expect(() => computeFare(POP, { distance_m: 0, duration_s: -1 })).toThrow(RangeError);
    expect(() => computeFare(POP, { distance_m: Number.NaN, duration_s: 0 })).toThrow(RangeError);
    expect(() => computeFare({ ...POP, perKmCents: 1.1 }, { distance_m: 1, duration_s: 0 })).toThrow(
      RangeError,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties, over thousands of random rules and trips

const RUNS = 3000;

const ruleArb = fc.record({
  baseFareCents: fc.integer({ min: 0, max: 100_000 }),
  perKmCents: fc.integer({ min: 0, max: 10_000 }),
  perMinuteCents: fc.integer({ min: 0, max: 5_000 }),
  minimumFareCents: fc.integer({ min: 0, max: 100_000 }),
  bookingFeeCents: fc.integer({ min: 0, max: 10_000 }),
  // The database refuses a surge below 1.0x; up to 5.0x, plus odd basis points.
  surgeMultiplierBp: fc.integer({ min: 10_000, max: 50_000 }),
});
const distanceArb = fc.integer({ min: 0, max: 500_000 });
const durationArb = fc.integer({ min: 0, max: 36_000 });
const tripArb = fc.record({ distance_m: distanceArb, duration_s: durationArb });

/** A fraction of BigInts in lowest terms, for an exact computation that shares no code. */
type Fraction = { n: bigint; d: bigint };
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
const frac = (n: number | bigint, d: number | bigint = 1n): Fraction => {
  const [bn, bd] = [BigInt(n), BigInt(d)];
  const g = gcd(bn, bd) || 1n;
  return { n: bn / g, d: bd / g };
};
const add = (a: Fraction, b: Fraction) => frac(a.n * b.d + b.n * a.d, a.d * b.d);
const mul = (a: Fraction, b: Fraction) => frac(a.n * b.n, a.d * b.d);
/** Half up: the integer part, plus one when the remainder is at least half the denominator. */
const roundHalfUp = (x: Fraction) => x.n / x.d + (2n * (x.n % x.d) >= x.d ? 1n : 0n);

function referenceFare(rule: FareRule, trip: { distance_m: number; duration_s: number }): number {
  const metered = mul(
    add(
      add(frac(rule.baseFareCents), frac(rule.perKmCents * trip.distance_m, 1000)),
      frac(rule.perMinuteCents * trip.duration_s, 60),
    ),
    frac(rule.surgeMultiplierBp, 10_000),
  );
  const rounded = roundHalfUp(metered);
  const floor = BigInt(rule.minimumFareCents);
  return Number((rounded > floor ? rounded : floor) + BigInt(rule.bookingFeeCents));
}

describe("computeFare: properties", () => {
  it("rounds the exact half found by a property run up (seed -1292012773)", () => {
    // 1354 × 13.95 km × 5.0 surge = 94 441.5 centavos exactly.
    const rule = {
      ...POP,
      baseFareCents: 0,
      perKmCents: 1354,
      perMinuteCents: 0,
      minimumFareCents: 0,
      bookingFeeCents: 0,
      surgeMultiplierBp: 50_000,
    };
    expect(computeFare(rule, { distance_m: 13_950, duration_s: 0 })).toBe(94_442);
  });

  it("is a safe integer, at least the minimum fare plus the booking fee", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, (rule, trip) => {
        const fare = computeFare(rule, trip);
        expect(Number.isSafeInteger(fare)).toBe(true);
        expect(fare).toBeGreaterThanOrEqual(rule.minimumFareCents + rule.bookingFeeCents);
      }),
      { numRuns: RUNS },
    );
  });

  it("equals an independent exact rational computation", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, (rule, trip) => {
        expect(computeFare(rule, trip)).toBe(referenceFare(rule, trip));
      }),
      { numRuns: RUNS },
    );
  });

  it("never decreases when the distance grows", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, fc.integer({ min: 0, max: 50_000 }), (rule, trip, more) => {
        const longer = { ...trip, distance_m: trip.distance_m + more };
        expect(computeFare(rule, longer)).toBeGreaterThanOrEqual(computeFare(rule, trip));
      }),
      { numRuns: RUNS },
    );
  });

  it("never decreases when the duration grows", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, fc.integer({ min: 0, max: 7_200 }), (rule, trip, more) => {
        const slower = { ...trip, duration_s: trip.duration_s + more };
        expect(computeFare(rule, slower)).toBeGreaterThanOrEqual(computeFare(rule, trip));
      }),
      { numRuns: RUNS },
    );
  });

  it("is never lowered by a surge", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, (rule, trip) => {
        const flat = computeFare({ ...rule, surgeMultiplierBp: 10_000 }, trip);
        expect(computeFare(rule, trip)).toBeGreaterThanOrEqual(flat);
      }),
      { numRuns: RUNS },
    );
  });

  it("is within half a centavo of the exact metered amount whenever the minimum does not apply", () => {
    fc.assert(
      fc.property(ruleArb, tripArb, (rule, trip) => {
        const noFloor = { ...rule, minimumFareCents: 0, bookingFeeCents: 0 };
        const fare = BigInt(computeFare(noFloor, trip));
        // metered × 600 000 000, exactly
        const scaled =
          (BigInt(rule.baseFareCents) * 60_000n +
            BigInt(rule.perKmCents) * BigInt(trip.distance_m) * 60n +
            BigInt(rule.perMinuteCents) * BigInt(trip.duration_s) * 1_000n) *
          BigInt(rule.surgeMultiplierBp);
        // Half up: rounded − exact is in (−½, ½] centavo; an exact half rounds up, to +½.
        const diff = fare * 600_000_000n - scaled;
        expect(diff > -300_000_000n && diff <= 300_000_000n).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
