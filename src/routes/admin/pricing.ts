import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import {
  createPricingRule,
  getPricingRule,
  listPricingRules,
  pricingRuleView,
  retirePricingRule,
} from "../../services/pricing/rules-admin";
import { CategorySchema, IdParamSchema } from "../schemas";
import {
  CityIdSchema,
  EffectiveFromSchema,
  ReasonBodySchema,
  ReasonSchema,
  RuleListQuerySchema,
  VERSION_CREATE_PROBLEMS,
  VERSION_RETIRE_PROBLEMS,
} from "./change-schemas";

const cents = (max: number, description: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(max)
    .openapi({ description: `${description}; integer centavos, at most ${max}` });

const surgeBp = z.number().int().min(10_000).max(50_000);

const PricingRuleSchema = z
  .object({
    id: z.string(),
    city_id: z.string(),
    category: z.string(),
    base_fare_cents: z.number().int(),
    per_km_cents: z.number().int(),
    per_minute_cents: z.number().int(),
    minimum_fare_cents: z.number().int(),
    booking_fee_cents: z.number().int(),
    cancellation_fee_cents: z.number().int(),
    cancellation_grace_seconds: z.number().int().nullable(),
    surge_min_bp: z.number().int(),
    surge_max_bp: z.number().int(),
    effective_from: z.string(),
    created_at: z.string(),
    retired_at: z.string().nullable(),
  })
  .openapi("PricingRule");

const CreatePricingRuleSchema = z
  .object({
    city_id: CityIdSchema,
    category: CategorySchema,
    base_fare_cents: cents(50_000, "Flag fall"),
    per_km_cents: cents(10_000, "Per kilometre"),
    per_minute_cents: cents(5_000, "Per minute"),
    minimum_fare_cents: cents(50_000, "Floor of the metered fare (R$ 500 at most)"),
    booking_fee_cents: cents(10_000, "Added after the floor, never surged"),
    cancellation_fee_cents: cents(50_000, "Charged when the passenger cancels after the grace period"),
    cancellation_grace_seconds: z.number().int().min(0).max(3_600).nullable().default(null).openapi({
      description: "Seconds after acceptance in which cancelling is free; null: the platform default",
    }),
    surge_min_bp: surgeBp
      .default(10_000)
      .openapi({ description: "Lowest multiplier, 10000 = 1.0x; the fare without surge" }),
    surge_max_bp: surgeBp
      .default(30_000)
      .openapi({ description: "Highest multiplier a surge may reach (5.0x at most)" }),
    effective_from: EffectiveFromSchema.optional(),
    reason: ReasonSchema,
  })
  .strict()
  .superRefine((body, issue) => {
    if (body.surge_max_bp < body.surge_min_bp) {
      issue.addIssue({ code: "custom", path: ["surge_max_bp"], message: "must not be below surge_min_bp" });
    }
  })
  .openapi("CreatePricingRuleRequest");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listPricingRules",
  tags: ["Admin"],
  summary: "Pricing versions, newest effective_from first",
  description:
    "Staff with `pricing:read`; read only. Every version, retired and scheduled ones included, filterable by city and category. The version in force at a moment is the latest non-retired one whose `effective_from` is not after it.",
  security,
  middleware: [requireAuth, requirePermission("pricing:read")] as const,
  request: { query: RuleListQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(PricingRuleSchema), next_cursor: z.string().nullable() }),
      "A page of versions",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const read = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getPricingRule",
  tags: ["Admin"],
  summary: "One pricing version",
  description: "Staff with `pricing:read`; read only.",
  security,
  middleware: [requireAuth, requirePermission("pricing:read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PricingRuleSchema, "The version"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "not_found", "validation_failed"),
  },
});

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createPricingRule",
  tags: ["Admin"],
  summary: "Create a pricing version (now or scheduled)",
  description:
    "Staff with `pricing:write`. Versions are never edited: a change is a new version, in force from `effective_from` (now when omitted, never in the past). The city must exist and offer the category. Another version of the same city and category at the same instant is `409 rule_version_conflict`. Quotes already given keep the version they were priced with. Audited with the version it supersedes and the reason.",
  security,
  middleware: [requireAuth, requirePermission("pricing:write")] as const,
  request: jsonBody(CreatePricingRuleSchema),
  responses: {
    201: jsonContent(PricingRuleSchema, "The new version"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, ...VERSION_CREATE_PROBLEMS),
  },
});

const retire = createRoute({
  method: "post",
  path: "/{id}/retire",
  operationId: "retirePricingRule",
  tags: ["Admin"],
  summary: "Retire a pricing version",
  description:
    "Staff with `pricing:write`. A retired version is never picked again; the previous non-retired version is in force again where it was. Refused with `409 rule_in_force_needed` when the version is in force now and no earlier one would take over (create the replacement first). Quotes and rides priced with it keep their price. Audited with the reason.",
  security,
  middleware: [requireAuth, requirePermission("pricing:write")] as const,
  request: { params: IdParamSchema, ...jsonBody(ReasonBodySchema) },
  responses: {
    200: jsonContent(PricingRuleSchema, "The retired version"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, ...VERSION_RETIRE_PROBLEMS),
  },
});

export const adminPricingRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listPricingRules(c.get("ctx"), c.req.valid("query")), 200))
  .openapi(create, async (c) => {
    const { reason, ...input } = c.req.valid("json");
    return c.json(await createPricingRule(c.get("ctx"), c.get("user").id, input, reason), 201);
  })
  .openapi(read, async (c) =>
    c.json(pricingRuleView(await getPricingRule(c.get("ctx"), c.req.valid("param").id)), 200),
  )
  .openapi(retire, async (c) => {
    const { reason } = c.req.valid("json");
    return c.json(
      await retirePricingRule(c.get("ctx"), c.get("user").id, c.req.valid("param").id, reason),
      200,
    );
  });
