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
import { SURGE_ZONE_MAX_PRECISION } from "../../services/pricing/surge";
import { listSurges, setSurge } from "../../services/pricing/surge-admin";
import { CategorySchema } from "../schemas";
import { CityIdSchema, ReasonSchema } from "./change-schemas";

const SurgeSchema = z
  .object({
    id: z.string(),
    city_id: z.string(),
    category: z.string(),
    zone: z.string().nullable(),
    multiplier_bp: z.number().int(),
    expires_at: z.string(),
    created_by: z.string(),
    created_at: z.string(),
  })
  .openapi("Surge");

const SetSurgeSchema = z
  .object({
    city_id: CityIdSchema,
    category: CategorySchema,
    zone: z
      .string()
      .regex(
        new RegExp(`^[0-9b-hjkmnp-z]{1,${SURGE_ZONE_MAX_PRECISION}}$`),
        `must be a geohash cell of 1 to ${SURGE_ZONE_MAX_PRECISION} characters`,
      )
      .nullable()
      .default(null)
      .openapi({ example: "6gyf4", description: "A geohash cell prefix; null: the whole city" }),
    multiplier_bp: z.number().int().min(10_000).max(50_000).openapi({
      example: 15_000,
      description: "10000 = 1.0x (ends a surge early); within the pricing version's bounds",
    }),
    expires_at: z
      .string()
      .datetime({ offset: true, message: "must be an ISO 8601 date-time" })
      .openapi({ description: "When the surge ends; in the future, at most 24 hours ahead" }),
    reason: ReasonSchema,
  })
  .strict()
  .openapi("SetSurgeRequest");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listSurges",
  tags: ["Admin"],
  summary: "Live surges, newest first",
  description: "Staff with `pricing:read`; read only. Unexpired surges, optionally of one city and category.",
  security,
  middleware: [requireAuth, requirePermission("pricing:read")] as const,
  request: { query: z.object({ city_id: CityIdSchema.optional(), category: CategorySchema.optional() }) },
  responses: {
    200: jsonContent(z.object({ items: z.array(SurgeSchema) }), "The live surges"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const set = createRoute({
  method: "post",
  path: "/",
  operationId: "setSurge",
  tags: ["Admin"],
  summary: "Set a surge for a city, category and zone",
  description:
    "Staff with `pricing:write`. Supersedes any live surge of the same city, category and zone. Quotes of the category with a pickup in the zone (the most specific live zone wins; null zone = the whole city) are priced with the multiplier, clamped to their pricing version's bounds, and show it. A ride keeps its quote's price. Audited with the surge it supersedes and the reason.",
  security,
  middleware: [requireAuth, requirePermission("pricing:write")] as const,
  request: jsonBody(SetSurgeSchema),
  responses: {
    201: jsonContent(SurgeSchema, "The surge"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden"),
  },
});

export const adminSurgeRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listSurges(c.get("ctx"), c.req.valid("query")), 200))
  .openapi(set, async (c) => {
    const { reason, ...input } = c.req.valid("json");
    return c.json(await setSurge(c.get("ctx"), c.get("user").id, input, reason), 201);
  });
