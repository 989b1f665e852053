import { and, desc, eq, isNull, lte, ne, type SQL, sql } from "drizzle-orm";
import { commissionRules } from "../../db/schema";
import { isUniqueViolation } from "../../lib/db-errors";
import { newId } from "../../lib/ids";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import type { ServiceContext } from "../context";
import type { CommissionRule } from "./commission";
import type { RuleListQuery } from "./rules-admin";
import { assertCityOffers, effectiveFromOf } from "./versions";

export interface CommissionRuleInput {
  city_id: string;
  category: string;
  rate_bp: number;
  min_cents: number | null;
  max_cents: number | null;
  effective_from?: string;
}

export function commissionRuleView(rule: CommissionRule) {
  return {
    id: rule.id,
    city_id: rule.cityId,
    category: rule.category,
    rate_bp: rule.rateBp,
    min_cents: rule.minCents,
    max_cents: rule.maxCents,
    effective_from: rule.effectiveFrom,
    created_at: rule.createdAt,
    retired_at: rule.retiredAt,
  };
}

export type CommissionRuleView = ReturnType<typeof commissionRuleView>;

/** Versions newest `effective_from` first; the cursor is the id of the last one seen. */
export async function listCommissionRules(ctx: ServiceContext, query: RuleListQuery) {
  const where: (SQL | undefined)[] = [
    query.city_id ? eq(commissionRules.cityId, query.city_id) : undefined,
    query.category ? eq(commissionRules.category, query.category) : undefined,
  ];
  if (query.cursor) {
    where.push(
      sql`(${commissionRules.effectiveFrom}, ${commissionRules.id}) < (SELECT effective_from, id FROM commission_rules WHERE id = ${query.cursor})`,
    );
  }
  const rows = await ctx.db
    .select()
    .from(commissionRules)
    .where(and(...where))
    .orderBy(desc(commissionRules.effectiveFrom), desc(commissionRules.id))
    .limit(query.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, query.limit);
  return { items: items.map(commissionRuleView), next_cursor };
}

export async function getCommissionRule(ctx: ServiceContext, id: string): Promise<CommissionRule> {
  const rule = await ctx.db.select().from(commissionRules).where(eq(commissionRules.id, id)).get();
  if (!rule) throw new ApiError("not_found", "No such commission version");
  return rule;
}

async function inForce(ctx: ServiceContext, cityId: string, category: string, at: string, exceptId?: string) {
  return ctx.db
    .select()
    .from(commissionRules)
    .where(
      and(
        eq(commissionRules.cityId, cityId),
        eq(commissionRules.category, category),
        lte(commissionRules.effectiveFrom, at),
        isNull(commissionRules.retiredAt),
        exceptId ? ne(commissionRules.id, exceptId) : undefined,
      ),
    )
    .orderBy(desc(commissionRules.effectiveFrom))
    .limit(1)
    .get();
}

/**
 * A new version, in force from `effective_from` (now when omitted); audited with the version it
 * supersedes as `before`. A ride's commission is the version in force when it completed.
 */
export async function createCommissionRule(
  ctx: ServiceContext,
  actorId: string,
  input: CommissionRuleInput,
  reason: string,
): Promise<CommissionRuleView> {
  const effectiveFrom = effectiveFromOf(ctx, input.effective_from);
  await assertCityOffers(ctx, input.city_id, input.category);
  const now = ctx.now();
  const rule: CommissionRule = {
    id: newId("com", now.getTime()),
    cityId: input.city_id,
    category: input.category,
    rateBp: input.rate_bp,
    minCents: input.min_cents,
    maxCents: input.max_cents,
    effectiveFrom,
    createdAt: now.toISOString(),
    retiredAt: null,
  };
  const superseded = await inForce(ctx, rule.cityId, rule.category, effectiveFrom);
  try {
    await ctx.db.batch([
      ctx.db.insert(commissionRules).values(rule),
      auditStatement(ctx, {
        actorId,
        action: "commission_rule.create",
        targetType: "commission_rule",
        targetId: rule.id,
        before: superseded ? commissionRuleView(superseded) : null,
        after: commissionRuleView(rule),
        reason,
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error, "commission_rules.")) {
      throw new ApiError(
        "rule_version_conflict",
        `A version of ${rule.cityId}/${rule.category} already takes effect at ${effectiveFrom}`,
        { errors: [{ path: "effective_from", message: "another version takes effect at this time" }] },
      );
    }
    throw error;
  }
  return commissionRuleView(rule);
}

/** Like `retirePricingRule`: refused when it would leave no commission version in force now. */
export async function retireCommissionRule(
  ctx: ServiceContext,
  actorId: string,
  id: string,
  reason: string,
): Promise<CommissionRuleView> {
  const rule = await getCommissionRule(ctx, id);
  if (rule.retiredAt)
    throw new ApiError("rule_already_retired", `The version was retired at ${rule.retiredAt}`);
  const now = ctx.now().toISOString();
  if (rule.effectiveFrom <= now && !(await inForce(ctx, rule.cityId, rule.category, now, rule.id))) {
    throw new ApiError(
      "rule_in_force_needed",
      `No other version of ${rule.cityId}/${rule.category} would be in force; create the replacement first`,
    );
  }
  const after: CommissionRule = { ...rule, retiredAt: now };
  await ctx.db.batch([
    ctx.db
      .update(commissionRules)
      .set({ retiredAt: now })
      .where(and(eq(commissionRules.id, id), isNull(commissionRules.retiredAt))),
    auditStatement(ctx, {
      actorId,
      action: "commission_rule.retire",
      targetType: "commission_rule",
      targetId: id,
      before: commissionRuleView(rule),
      after: commissionRuleView(after),
      reason,
    }),
  ]);
  return commissionRuleView(after);
}
