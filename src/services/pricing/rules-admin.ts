import { and, desc, eq, isNull, lte, ne, type SQL, sql } from "drizzle-orm";
import { pricingRules } from "../../db/schema";
import { isUniqueViolation } from "../../lib/db-errors";
import { newId } from "../../lib/ids";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import type { ServiceContext } from "../context";
import type { PricingRule } from "./fares";
import { assertCityOffers, effectiveFromOf } from "./versions";

export interface PricingRuleInput {
  city_id: string;
  category: string;
  base_fare_cents: number;
  per_km_cents: number;
  per_minute_cents: number;
  minimum_fare_cents: number;
  booking_fee_cents: number;
  cancellation_fee_cents: number;
  /** Null: the configured default (`CANCELLATION_GRACE_SECONDS`). */
  cancellation_grace_seconds: number | null;
  surge_min_bp: number;
  surge_max_bp: number;
  effective_from?: string;
}

export interface RuleListQuery {
  city_id?: string;
  category?: string;
  limit: number;
  cursor?: string;
}

export function pricingRuleView(rule: PricingRule) {
  return {
    id: rule.id,
    city_id: rule.cityId,
    category: rule.category,
    base_fare_cents: rule.baseFareCents,
    per_km_cents: rule.perKmCents,
    per_minute_cents: rule.perMinuteCents,
    minimum_fare_cents: rule.minimumFareCents,
    booking_fee_cents: rule.bookingFeeCents,
    cancellation_fee_cents: rule.cancellationFeeCents,
    cancellation_grace_seconds: rule.cancellationGraceSeconds,
    surge_min_bp: rule.surgeMinBp,
    surge_max_bp: rule.surgeMaxBp,
    effective_from: rule.effectiveFrom,
    created_at: rule.createdAt,
    retired_at: rule.retiredAt,
  };
}

export type PricingRuleView = ReturnType<typeof pricingRuleView>;

/** Versions newest `effective_from` first; the cursor is the id of the last one seen. */
export async function listPricingRules(ctx: ServiceContext, query: RuleListQuery) {
  const where: (SQL | undefined)[] = [
    query.city_id ? eq(pricingRules.cityId, query.city_id) : undefined,
    query.category ? eq(pricingRules.category, query.category) : undefined,
  ];
  if (query.cursor) {
    where.push(
      sql`(${pricingRules.effectiveFrom}, ${pricingRules.id}) < (SELECT effective_from, id FROM pricing_rules WHERE id = ${query.cursor})`,
    );
  }
  const rows = await ctx.db
    .select()
    .from(pricingRules)
    .where(and(...where))
    .orderBy(desc(pricingRules.effectiveFrom), desc(pricingRules.id))
    .limit(query.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, query.limit);
  return { items: items.map(pricingRuleView), next_cursor };
}

export async function getPricingRule(ctx: ServiceContext, id: string): Promise<PricingRule> {
  const rule = await ctx.db.select().from(pricingRules).where(eq(pricingRules.id, id)).get();
  if (!rule) throw new ApiError("not_found", "No such pricing version");
  return rule;
}

/** The non-retired pricing version of a city and category in force at `at`, leaving out `exceptId`. */
export async function pricingInForce(
  ctx: ServiceContext,
  cityId: string,
  category: string,
  at: string,
  exceptId?: string,
): Promise<PricingRule | undefined> {
  return ctx.db
    .select()
    .from(pricingRules)
    .where(
      and(
        eq(pricingRules.cityId, cityId),
        eq(pricingRules.category, category),
        lte(pricingRules.effectiveFrom, at),
        isNull(pricingRules.retiredAt),
        exceptId ? ne(pricingRules.id, exceptId) : undefined,
      ),
    )
    .orderBy(desc(pricingRules.effectiveFrom))
    .limit(1)
    .get();
}

/**
 * A new version, in force from `effective_from` (now when omitted). Audited with the version it
 * supersedes at that moment as `before`. Quotes already given keep the version they name.
 */
export async function createPricingRule(
  ctx: ServiceContext,
  actorId: string,
  input: PricingRuleInput,
  reason: string,
): Promise<PricingRuleView> {
  const effectiveFrom = effectiveFromOf(ctx, input.effective_from);
  await assertCityOffers(ctx, input.city_id, input.category);
  const now = ctx.now();
  const rule: PricingRule = {
    id: newId("prc", now.getTime()),
    cityId: input.city_id,
    category: input.category,
    baseFareCents: input.base_fare_cents,
    perKmCents: input.per_km_cents,
    perMinuteCents: input.per_minute_cents,
    minimumFareCents: input.minimum_fare_cents,
    bookingFeeCents: input.booking_fee_cents,
    cancellationFeeCents: input.cancellation_fee_cents,
    cancellationGraceSeconds: input.cancellation_grace_seconds,
    // The rule's own multiplier is the floor of its bounds: the fare without a live surge.
    surgeMultiplierBp: input.surge_min_bp,
    surgeMinBp: input.surge_min_bp,
    surgeMaxBp: input.surge_max_bp,
    effectiveFrom,
    createdAt: now.toISOString(),
    retiredAt: null,
  };
  const superseded = await pricingInForce(ctx, rule.cityId, rule.category, effectiveFrom);
  try {
    await ctx.db.batch([
      ctx.db.insert(pricingRules).values(rule),
      auditStatement(ctx, {
        actorId,
        action: "pricing_rule.create",
        targetType: "pricing_rule",
        targetId: rule.id,
        before: superseded ? pricingRuleView(superseded) : null,
        after: pricingRuleView(rule),
        reason,
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error, "pricing_rules.")) {
      throw new ApiError(
        "rule_version_conflict",
        `A version of ${rule.cityId}/${rule.category} already takes effect at ${effectiveFrom}`,
        {
          errors: [{ path: "effective_from", message: "another version takes effect at this time" }],
        },
      );
    }
    throw error;
  }
  return pricingRuleView(rule);
}

/**
 * Retires a version: it is never picked again, and the previous non-retired version is in force
 * again where it was. Refused when the version is in force now and no earlier one would take
 * over (`rule_in_force_needed`): a city and category must not silently stop being priced.
 * Quotes and rides that already name the version keep it.
 */
export async function retirePricingRule(
  ctx: ServiceContext,
  actorId: string,
  id: string,
  reason: string,
): Promise<PricingRuleView> {
  const rule = await getPricingRule(ctx, id);
  if (rule.retiredAt)
    throw new ApiError("rule_already_retired", `The version was retired at ${rule.retiredAt}`);
  const now = ctx.now().toISOString();
  if (rule.effectiveFrom <= now && !(await pricingInForce(ctx, rule.cityId, rule.category, now, rule.id))) {
    throw new ApiError(
      "rule_in_force_needed",
      `No other version of ${rule.cityId}/${rule.category} would be in force; create the replacement first`,
    );
  }
  const after: PricingRule = { ...rule, retiredAt: now };
  await ctx.db.batch([
    ctx.db
      .update(pricingRules)
      .set({ retiredAt: now })
      .where(and(eq(pricingRules.id, id), isNull(pricingRules.retiredAt))),
    auditStatement(ctx, {
      actorId,
      action: "pricing_rule.retire",
      targetType: "pricing_rule",
      targetId: id,
      before: pricingRuleView(rule),
      after: pricingRuleView(after),
      reason,
    }),
  ]);
  return pricingRuleView(after);
}
