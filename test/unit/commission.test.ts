import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import {
  type CommissionTerms,
  currentCommissionRule,
  splitFare,
} from "../../src/services/pricing/commission";

/** São Paulo as seeded by migrations/0004: pop 20 % with a R$ 1,00 minimum, comfort 25 %, R$ 1,50. */
const POP: CommissionTerms = { rateBp: 2000, minCents: 100, maxCents: null };
const COMFORT: CommissionTerms = { rateBp: 2500, minCents: 150, maxCents: null };
const rate = (rateBp: number): CommissionTerms => ({ rateBp, minCents: null, maxCents: null });

describe("splitFare: hand-computed examples", () => {
  it.each([
    { name: "the happy-path pop fare: 1350 × 20 %", fare: 1350, rule: POP, commission: 270 },
    { name: "246.8 rounds up to 247", fare: 1234, rule: POP, commission: 247 },
    {
      name: "an exact half goes up, not to even: 1002 × 25 % = 250.5",
      fare: 1002,
      rule: rate(2500),
      commission: 251,
    },
    { name: "a quarter goes down: 1001 × 25 % = 250.25", fare: 1001, rule: rate(2500), commission: 250 },
    { name: "three quarters go up: 1003 × 25 % = 250.75", fare: 1003, rule: rate(2500), commission: 251 },
    { name: "half a centavo: 1 × 50 % = 0.5", fare: 1, rule: rate(5000), commission: 1 },
    { name: "just under half: 1 × 49.99 % = 0.4999", fare: 1, rule: rate(4999), commission: 0 },
    { name: "comfort 4321 × 25 % = 1080.25", fare: 4321, rule: COMFORT, commission: 1080 },
  ])("$name → $commission", ({ fare, rule, commission }) => {
    expect(splitFare(fare, rule)).toEqual({ commissionCents: commission, driverCents: fare - commission });
  });

  it("applies the minimum to a small fare", () => {
    // 400 × 20 % = 80 < 100
    expect(splitFare(400, POP)).toEqual({ commissionCents: 100, driverCents: 300 });
    // 500 × 20 % = 100: the minimum no longer raises it; 505 → 101
    expect(splitFare(500, POP)).toEqual({ commissionCents: 100, driverCents: 400 });
    expect(splitFare(505, POP)).toEqual({ commissionCents: 101, driverCents: 404 });
  });

  it("never takes more than the fare: a fare below the minimum is all commission", () => {
    expect(splitFare(60, POP)).toEqual({ commissionCents: 60, driverCents: 0 });
    expect(splitFare(100, POP)).toEqual({ commissionCents: 100, driverCents: 0 });
    expect(splitFare(101, POP)).toEqual({ commissionCents: 100, driverCents: 1 });
  });

  it("clamps to the maximum", () => {
    const capped = { rateBp: 2000, minCents: 100, maxCents: 500 };
    expect(splitFare(10_000, capped)).toEqual({ commissionCents: 500, driverCents: 9500 });
    expect(splitFare(2500, capped)).toEqual({ commissionCents: 500, driverCents: 2000 });
    expect(splitFare(2499, capped)).toEqual({ commissionCents: 500, driverCents: 1999 }); // 499.8 → 500
    expect(splitFare(2490, capped)).toEqual({ commissionCents: 498, driverCents: 1992 });
  });

  it("splits a fare of 0 into 0 and 0, whatever the minimum", () => {
    expect(splitFare(0, POP)).toEqual({ commissionCents: 0, driverCents: 0 });
    expect(splitFare(0, { rateBp: 10_000, minCents: 500, maxCents: 900 })).toEqual({
      commissionCents: 0,
      driverCents: 0,
    });
  });

  it("takes nothing at 0 % and everything at 100 %", () => {
    expect(splitFare(1234, rate(0))).toEqual({ commissionCents: 0, driverCents: 1234 });
    expect(splitFare(1234, rate(10_000))).toEqual({ commissionCents: 1234, driverCents: 0 });
  });

  it("stays exact for fares far beyond any ride", () => {
    // 9007199254740991 × 2000 overflows a double's integers; the split does not.
    const fare = Number.MAX_SAFE_INTEGER;
    const { commissionCents, driverCents } = splitFare(fare, rate(2000));
    expect(BigInt(commissionCents)).toBe((BigInt(fare) * 2000n + 5000n) / 10_000n);
    expect(BigInt(commissionCents) + BigInt(driverCents)).toBe(BigInt(fare));
  });

  it.each([
    { name: "a negative fare", fare: -1, rule: POP },
    { name: "a fractional fare", fare: 12.5, rule: POP },
    { name: "NaN", fare: Number.NaN, rule: POP },
    { name: "a rate above 100 %", fare: 1000, rule: rate(10_001) },
    { name: "a negative rate", fare: 1000, rule: rate(-1) },
    { name: "a fractional minimum", fare: 1000, rule: { rateBp: 2000, minCents: 0.5, maxCents: null } },
    { name: "a maximum below the minimum", fare: 1000, rule: { rateBp: 2000, minCents: 200, maxCents: 100 } },
  ])("refuses $name", ({ fare, rule }) => {
    expect(() => splitFare(fare, rule)).toThrow(RangeError);
  });
});

/** Any rule the commission_rules CHECK admits: 0..100 %, optional minimum, maximum ≥ minimum. */
const ruleArb: fc.Arbitrary<CommissionTerms> = fc
  .record({
    rateBp: fc.integer({ min: 0, max: 10_000 }),
    minCents: fc.option(fc.integer({ min: 0, max: 50_000 }), { nil: null }),
    span: fc.option(fc.integer({ min: 0, max: 500_000 }), { nil: null }),
  })
  .map(({ rateBp, minCents, span }) => ({
    rateBp,
    minCents,
    maxCents: span === null ? null : (minCents ?? 0) + span,
  }));
const fareArb = fc.integer({ min: 0, max: 10_000_000 });
const RUNS = { numRuns: 2000 };

describe("splitFare: properties over fares 0..10,000,000 and random rules", () => {
  it("splits into non-negative integers that add up to the fare", () => {
    fc.assert(
      fc.property(fareArb, ruleArb, (fare, rule) => {
        const { driverCents, commissionCents } = splitFare(fare, rule);
        expect(Number.isSafeInteger(driverCents) && Number.isSafeInteger(commissionCents)).toBe(true);
        expect(driverCents).toBeGreaterThanOrEqual(0);
        expect(commissionCents).toBeGreaterThanOrEqual(0);
        expect(driverCents + commissionCents).toBe(fare);
      }),
      RUNS,
    );
  });

  it("keeps the commission within the rule's bounds and the fare", () => {
    fc.assert(
      fc.property(fareArb, ruleArb, (fare, rule) => {
        const { commissionCents } = splitFare(fare, rule);
        expect(commissionCents).toBeLessThanOrEqual(fare);
        if (rule.maxCents !== null) expect(commissionCents).toBeLessThanOrEqual(rule.maxCents);
        if (rule.minCents !== null)
          expect(commissionCents).toBeGreaterThanOrEqual(Math.min(rule.minCents, fare));
      }),
      RUNS,
    );
  });

  it("without bounds, is fare × rate rounded half up: 10000 × commission − fare × rate in (−5000, 5000]", () => {
    fc.assert(
      fc.property(fareArb, fc.integer({ min: 0, max: 10_000 }), (fare, rateBp) => {
        const { commissionCents } = splitFare(fare, rate(rateBp));
        const error = 10_000 * commissionCents - fare * rateBp;
        expect(error).toBeGreaterThan(-5000);
        expect(error).toBeLessThanOrEqual(5000);
      }),
      RUNS,
    );
  });

  it("without bounds, both parts are monotone in the fare", () => {
    fc.assert(
      fc.property(fareArb, fareArb, fc.integer({ min: 0, max: 10_000 }), (a, b, rateBp) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const x = splitFare(low, rate(rateBp));
        const y = splitFare(high, rate(rateBp));
        expect(x.commissionCents).toBeLessThanOrEqual(y.commissionCents);
        expect(x.driverCents).toBeLessThanOrEqual(y.driverCents);
      }),
      RUNS,
    );
  });

  it("with bounds too, one more centavo of fare never lowers either part", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999 }), ruleArb, (fare, rule) => {
        const x = splitFare(fare, rule);
        const y = splitFare(fare + 1, rule);
        expect(y.commissionCents - x.commissionCents).toBeGreaterThanOrEqual(0);
        expect(y.driverCents - x.driverCents).toBeGreaterThanOrEqual(0);
        expect(y.commissionCents - x.commissionCents + (y.driverCents - x.driverCents)).toBe(1);
      }),
      RUNS,
    );
  });
});

describe("currentCommissionRule", () => {
  const ctx = () => createServiceContext(env);

  it("finds the seeded São Paulo rules", async () => {
    const pop = await currentCommissionRule(ctx(), "sao_paulo", "pop", new Date("2026-06-01T00:00:00Z"));
    expect(pop).toMatchObject({ id: "com_sp_pop_2026", rateBp: 2000, minCents: 100, maxCents: null });
    const comfort = await currentCommissionRule(
      ctx(),
      "sao_paulo",
      "comfort",
      new Date("2026-06-01T00:00:00Z"),
    );
    expect(comfort).toMatchObject({ rateBp: 2500, minCents: 150 });
  });

  it("takes the latest version in force at the moment, ignoring future ones", async () => {
    await env.DB.prepare(
      "INSERT INTO commission_rules (id, city_id, category, rate_bp, min_cents, max_cents, effective_from, created_at) VALUES ('com_test_v2', 'sao_paulo', 'pop', 1800, 100, 2000, '2030-03-01T03:00:00.000Z', '2026-01-02T00:00:00.000Z')",
    ).run();
    const at = (iso: string) => currentCommissionRule(ctx(), "sao_paulo", "pop", new Date(iso));
    expect((await at("2030-03-01T02:59:59.999Z")).id).toBe("com_sp_pop_2026");
    expect((await at("2030-03-01T03:00:00.000Z")).id).toBe("com_test_v2");
    expect((await at("2031-01-01T00:00:00.000Z")).rateBp).toBe(1800);
  });

  it("throws on a city or category without a rule (our bug, not the caller's)", async () => {
    await expect(currentCommissionRule(ctx(), "sao_paulo", "helicopter", new Date())).rejects.toThrow(
      /no commission rule for sao_paulo\/helicopter/,
    );
    await expect(
      currentCommissionRule(ctx(), "sao_paulo", "pop", new Date("2025-12-31T23:59:59Z")),
    ).rejects.toThrow(/no commission rule/);
  });
});
