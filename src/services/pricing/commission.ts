import { and, desc, eq, isNull, lte } from "drizzle-orm";
import { commissionRules } from "../../db/schema";
import type { ServiceContext } from "../context";

export type CommissionRule = typeof commissionRules.$inferSelect;

/** The parts of a rule the split depends on. */
export type CommissionTerms = Pick<CommissionRule, "rateBp" | "minCents" | "maxCents">;

export interface FareSplit {
  /** What the driver earns: always `fare − commission`. */
  driverCents: number;
  /** What the platform keeps. */
  commissionCents: number;
}

/** 10000 basis points = 100 %. */
export const BP_ONE = 10_000;

/**
 * The split of an amount (a completed ride's fare, or a cancellation fee) into the platform's
 * commission and the driver's share, in integer centavos. This is the contract:
 *
 *     commission = round_half_up(fare × rate_bp / 10000)     to a whole centavo
 *     commission = max(commission, min_cents)                 when the rule has a minimum
 *     commission = min(commission, max_cents)                 when the rule has a maximum
 *     commission = min(commission, fare)                      never more than the fare itself
 *     driver     = fare − commission
 *
 * - Every input is a non-negative integer (centavos, basis points); no floating point touches
 *   the amount: `fare × rate_bp` is an exact integer (BigInt) and is rounded once.
 * - Half up means a remainder of exactly half a centavo goes up: 1002 × 25 % = 250.5 → 251,
 *   1234 × 20 % = 246.8 → 247, 1001 × 25 % = 250.25 → 250. It is not banker's rounding.
 * - The minimum applies before the maximum (a rule's maximum is never below its minimum), and
 *   the fare caps both: a fare below the minimum commission is all commission and the driver
 *   earns 0; a fare of 0 splits into 0 and 0.
 * - Both parts are therefore non-negative integers that always add up to the fare exactly, and
 *   both are non-decreasing in the fare.
 */
export function splitFare(fareCents: number, rule: CommissionTerms): FareSplit {
  const fare = wholeCentavos("fareCents", fareCents);
  const rateBp = wholeCentavos("rateBp", rule.rateBp);
  if (rateBp > BigInt(BP_ONE))
    throw new RangeError(`splitFare: rateBp must be at most ${BP_ONE}, got ${rateBp}`);
  const min = rule.minCents === null ? null : wholeCentavos("minCents", rule.minCents);
  const max = rule.maxCents === null ? null : wholeCentavos("maxCents", rule.maxCents);
  if (min !== null && max !== null && max < min) {
    throw new RangeError(`splitFare: maxCents (${max}) is below minCents (${min})`);
  }
  const one = BigInt(BP_ONE);
  // Half up: add half the denominator, then floor (BigInt division truncates, and all is >= 0).
  let commission = (fare * rateBp + one / 2n) / one;
  if (min !== null && commission < min) commission = min;
  if (max !== null && commission > max) commission = max;
  if (commission > fare) commission = fare;
  return { driverCents: Number(fare - commission), commissionCents: Number(commission) };
}

function wholeCentavos(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`splitFare: ${name} must be a non-negative integer, got ${value}`);
  }
  return BigInt(value);
}

/**
 * The commission rule in force for a city and category at a moment: the version with the latest
 * `effective_from` not after `at`, retired versions left out. Every city and category a ride can be requested in has one
 * (seeded by migration, changed by admins as new versions), so a missing rule is our bug.
 */
export async function currentCommissionRule(
  ctx: ServiceContext,
  cityId: string,
  category: string,
  at: Date,
): Promise<CommissionRule> {
  const rule = await ctx.db
    .select()
    .from(commissionRules)
    .where(
      and(
        eq(commissionRules.cityId, cityId),
        eq(commissionRules.category, category),
        lte(commissionRules.effectiveFrom, at.toISOString()),
        // A retired version is never picked; the previous one is in force again.
        isNull(commissionRules.retiredAt),
      ),
    )
    .orderBy(desc(commissionRules.effectiveFrom))
    .limit(1)
    .get();
  if (!rule) {
    throw new Error(`no commission rule for ${cityId}/${category} in force at ${at.toISOString()}`);
  }
  return rule;
}
