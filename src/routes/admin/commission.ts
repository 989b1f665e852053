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
  commissionRuleView,
  createCommissionRule,
  getCommissionRule,
  listCommissionRules,
  retireCommissionRule,
} from "../../services/pricing/commission-admin";
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

const CommissionRuleSchema = z
  .object({
    id: z.string(),
    city_id: z.string(),
    category: z.string(),
    rate_bp: z.number().int().openapi({ description: "Basis points of the fare: 2000 = 20 %" }),
    min_cents: z.number().int().nullable(),
    max_cents: z.number().int().nullable(),
    effective_from: z.string(),
    created_at: z.string(),
    retired_at: z.string().nullable(),
  })
  .openapi("CommissionRule");

const CreateCommissionRuleSchema = z
  .object({
    city_id: CityIdSchema,
    category: CategorySchema,
    rate_bp: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .openapi({ example: 2000, description: "0 to 10000 (100 %)" }),
    min_cents: z.number().int().min(0).max(100_000).nullable().default(null).openapi({
      description: "Lowest commission per ride, integer centavos; null: none",
    }),
    max_cents: z.number().int().min(0).max(100_000).nullable().default(null).openapi({
      description: "Highest commission per ride, integer centavos, not below min_cents; null: none",
    }),
    effective_from: EffectiveFromSchema.optional(),
    reason: ReasonSchema,
  })
  .strict()
  .superRefine((body, issue) => {
    if (body.min_cents !== null && body.max_cents !== null && body.max_cents < body.min_cents) {
      issue.addIssue({ code: "custom", path: ["max_cents"], message: "must not be below min_cents" });
    }
  })
  .openapi("CreateCommissionRuleRequest");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listCommissionRules",
  tags: ["Admin"],
  summary: "Commission versions, newest effective_from first",
  description:
    "Staff with `commission:read`; read only. Every version, retired and scheduled ones included, filterable by city and category. The version in force at a moment is the latest non-retired one whose `effective_from` is not after it.",
  security,
  middleware: [requireAuth, requirePermission("commission:read")] as const,
  request: { query: RuleListQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(CommissionRuleSchema), next_cursor: z.string().nullable() }),
      "A page of versions",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const read = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getCommissionRule",
  tags: ["Admin"],
  summary: "One commission version",
  description: "Staff with `commission:read`; read only.",
  security,
  middleware: [requireAuth, requirePermission("commission:read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(CommissionRuleSchema, "The version"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "not_found", "validation_failed"),
  },
});

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createCommissionRule",
  tags: ["Admin"],
  summary: "Create a commission version (now or scheduled)",
  description:
    "Staff with `commission:write`. Versions are never edited: a change is a new version, in force from `effective_from` (now when omitted, never in the past). The city must exist and offer the category. Another version of the same city and category at the same instant is `409 rule_version_conflict`. A ride's commission is the version in force when it completed. Audited with the version it supersedes and the reason.",
  security,
  middleware: [requireAuth, requirePermission("commission:write")] as const,
  request: jsonBody(CreateCommissionRuleSchema),
  responses: {
    201: jsonContent(CommissionRuleSchema, "The new version"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, ...VERSION_CREATE_PROBLEMS),
  },
});

const retire = createRoute({
  method: "post",
  path: "/{id}/retire",
  operationId: "retireCommissionRule",
  tags: ["Admin"],
  summary: "Retire a commission version",
  description:
    "Staff with `commission:write`. A retired version is never picked again; the previous non-retired version is in force again where it was. Refused with `409 rule_in_force_needed` when the version is in force now and no earlier one would take over (create the replacement first). Commission already posted is not changed. Audited with the reason.",
  security,
  middleware: [requireAuth, requirePermission("commission:write")] as const,
  request: { params: IdParamSchema, ...jsonBody(ReasonBodySchema) },
  responses: {
    200: jsonContent(CommissionRuleSchema, "The retired version"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, ...VERSION_RETIRE_PROBLEMS),
  },
});

export const adminCommissionRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listCommissionRules(c.get("ctx"), c.req.valid("query")), 200))
  .openapi(create, async (c) => {
    const { reason, ...input } = c.req.valid("json");
    return c.json(await createCommissionRule(c.get("ctx"), c.get("user").id, input, reason), 201);
  })
  .openapi(read, async (c) =>
    c.json(commissionRuleView(await getCommissionRule(c.get("ctx"), c.req.valid("param").id)), 200),
  )
  .openapi(retire, async (c) => {
    const { reason } = c.req.valid("json");
    return c.json(
      await retireCommissionRule(c.get("ctx"), c.get("user").id, c.req.valid("param").id, reason),
      200,
    );
  });
