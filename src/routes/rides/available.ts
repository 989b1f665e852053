import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_METHODS } from "../../db/schema";
import { requireAuth, requireRole } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import * as drivers from "../../services/drivers";
import { LatLngSchema } from "../schemas";

/** A query coordinate: a plain decimal, so an empty `?lat=` is refused instead of read as 0. */
const queryCoordinate = (min: number, max: number, example: string) =>
  z
    .string({ error: "required" })
    .regex(/^[+-]?\d+(\.\d+)?$/, "must be a decimal number")
    .transform(Number)
    .pipe(z.number().min(min).max(max))
    .openapi({ example, description: `Decimal degrees, ${min} to ${max}` });

const AvailableQuerySchema = z.object({
  lat: queryCoordinate(-90, 90, "-23.5614"),
  lng: queryCoordinate(-180, 180, "-46.6559"),
  limit: z.coerce.number().int().min(1).max(50).default(20).openapi({ example: 20 }),
});

const AvailableRideSchema = z
  .object({
    id: z.string(),
    category: z.string(),
    pickup: LatLngSchema,
    dropoff: LatLngSchema,
    estimated_fare_cents: z.number().int(),
    payment_method: z.enum(PAYMENT_METHODS),
    distance_to_pickup_m: z.number().int().openapi({ description: "Straight-line distance, metres" }),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .openapi("AvailableRide");

const available = createRoute({
  method: "get",
  path: "/",
  operationId: "listAvailableRides",
  summary: "Requested rides near the driver, nearest first",
  tags: ["Rides"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requireRole("driver")] as const,
  description:
    "For drivers; read only. Rides waiting for a driver, of the driver's vehicle category, with a pickup within the configured radius of `lat`/`lng`. No passenger data.",
  request: { query: AvailableQuerySchema },
  responses: {
    200: jsonContent(z.object({ items: z.array(AvailableRideSchema) }), "Nearest first"),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "forbidden",
      "validation_failed",
      "vehicle_required",
      "outside_service_area",
    ),
  },
});

export const availableRideRoutes = createRouter().openapi(available, async (c) => {
  const { lat, lng, limit } = c.req.valid("query");
  const items = await drivers.listAvailableRides(c.get("ctx"), c.get("user").id, { lat, lng }, limit);
  return c.json({ items }, 200);
});
