import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_METHODS } from "../../db/schema";
import { requireAuth, requirePermission } from "../../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { createCity, getCity, listCities, updateCity } from "../../services/pricing/cities-admin";
import { MAX_RING_POINTS } from "../../services/pricing/service-area";
import { CategorySchema, IdParamSchema } from "../schemas";
import { CityIdSchema, ReasonSchema } from "./change-schemas";

// A point is a two-number array rather than a tuple: OpenAPI 3.1 renders a tuple as `prefixItems`
// with no `items`, which generated clients handle poorly.
const PointSchema = z
  .array(z.number())
  .length(2)
  .superRefine(([lng = 0, lat = 0], check) => {
    if (Math.abs(lng) > 180) check.addIssue({ code: "custom", path: [0], message: "longitude within ±180" });
    if (Math.abs(lat) > 90) check.addIssue({ code: "custom", path: [1], message: "latitude within ±90" });
  })
  .transform((point) => point as [number, number]);

const RingSchema = z
  .array(PointSchema)
  .min(4)
  .max(MAX_RING_POINTS)
  .openapi({
    description:
      "The service area: one closed polygon ring of `[lng, lat]` points (GeoJSON order), the first point repeated last",
    example: [
      [-43.8, -23.1],
      [-43.1, -23.1],
      [-43.1, -22.75],
      [-43.8, -22.75],
      [-43.8, -23.1],
    ],
  });

const CitySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    timezone: z.string(),
    currency: z.string(),
    payment_methods: z.array(z.enum(PAYMENT_METHODS)),
    categories: z.array(z.string()),
    service_area: z.array(z.array(z.number())).nullable(),
    bounding_box: z.object({
      min_lat: z.number(),
      max_lat: z.number(),
      min_lng: z.number(),
      max_lng: z.number(),
    }),
    active: z.boolean(),
    credit_floor_cents: z.number().int().nullable().openapi({
      description:
        "The city's own credit floor in centavos (≤ 0), stricter than the global one; null: the global floor applies",
    }),
    updated_at: z.string().nullable(),
  })
  .openapi("City");

const fields = {
  name: z.string().trim().min(2).max(80).openapi({ example: "Rio de Janeiro" }),
  timezone: z.string().min(1).max(64).openapi({
    example: "America/Sao_Paulo",
    description: "IANA time zone name; an unknown one is `400 validation_failed` on `timezone`",
  }),
  payment_methods: z.array(z.enum(PAYMENT_METHODS)).min(1).max(PAYMENT_METHODS.length),
  categories: z.array(CategorySchema).min(1).max(20).openapi({
    description: "The categories that may be priced in the city; one cannot be dropped later",
  }),
  service_area: RingSchema,
  active: z.boolean(),
  credit_floor_cents: z.number().int().min(-1_000_000).max(0).nullable().openapi({
    example: -1000,
    description:
      "The lowest prepaid credit (centavos, ≤ 0) at which a driver may still be offered and accept rides in this city. Only stricter than the global `credit_floor_cents` of the settlement settings: a lower value is `400 validation_failed` on `credit_floor_cents`. The floor of a ride is the higher of the two; null: the global one. The driver's ledger account keeps the global floor.",
  }),
};

const CreateCitySchema = z
  .object({
    id: CityIdSchema,
    ...fields,
    currency: z.literal("BRL").default("BRL").openapi({ description: "Only BRL is supported for now" }),
    active: fields.active.default(true),
    credit_floor_cents: fields.credit_floor_cents.optional(),
    reason: ReasonSchema,
  })
  .strict()
  .openapi("CreateCityRequest");

const UpdateCitySchema = z
  .object({
    name: fields.name.optional(),
    timezone: fields.timezone.optional(),
    payment_methods: fields.payment_methods.optional(),
    categories: fields.categories.optional(),
    service_area: fields.service_area.optional(),
    active: fields.active.optional(),
    credit_floor_cents: fields.credit_floor_cents.optional(),
    reason: ReasonSchema,
  })
  .strict()
  .openapi("UpdateCityRequest");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listCities",
  tags: ["Admin"],
  summary: "Cities (service areas), by id",
  description: "Staff with `pricing:read`; read only.",
  security,
  middleware: [requireAuth, requirePermission("pricing:read")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(CitySchema), next_cursor: z.string().nullable() }),
      "A page of cities",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const read = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getCity",
  tags: ["Admin"],
  summary: "One city",
  description: "Staff with `pricing:read`; read only.",
  security,
  middleware: [requireAuth, requirePermission("pricing:read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(CitySchema, "The city"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "not_found", "validation_failed"),
  },
});

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createCity",
  tags: ["Admin"],
  summary: "Create a city",
  description:
    "Staff with `pricing:write`. A service area is a polygon; quotes and ride requests outside every active city's polygon are `422 outside_service_area`. The city is priced by separate calls: a pricing version and a commission version per category. Audited with the reason.",
  security,
  middleware: [requireAuth, requirePermission("pricing:write")] as const,
  request: jsonBody(CreateCitySchema),
  responses: {
    201: jsonContent(CitySchema, "The new city"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "city_exists"),
  },
});

const update = createRoute({
  method: "patch",
  path: "/{id}",
  operationId: "updateCity",
  tags: ["Admin"],
  summary: "Change a city",
  description:
    "Staff with `pricing:write`. Changes the fields given. A category cannot be dropped (`400` on `categories`); `active: false` stops new quotes and rides there; `credit_floor_cents: null` returns the city to the global credit floor. Audited before and after, with the reason.",
  security,
  middleware: [requireAuth, requirePermission("pricing:write")] as const,
  request: { params: IdParamSchema, ...jsonBody(UpdateCitySchema) },
  responses: {
    200: jsonContent(CitySchema, "The city as changed"),
    // An empty id names the collection, which takes GET and POST only.
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "not_found", "method_not_allowed"),
  },
});

export const adminCityRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listCities(c.get("ctx"), c.req.valid("query")), 200))
  .openapi(create, async (c) => {
    const { reason, ...input } = c.req.valid("json");
    return c.json(await createCity(c.get("ctx"), c.get("user").id, input, reason), 201);
  })
  .openapi(read, async (c) => c.json(await getCity(c.get("ctx"), c.req.valid("param").id), 200))
  .openapi(update, async (c) => {
    const { reason, ...change } = c.req.valid("json");
    return c.json(
      await updateCity(c.get("ctx"), c.get("user").id, c.req.valid("param").id, change, reason),
      200,
    );
  });
