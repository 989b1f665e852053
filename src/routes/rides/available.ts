import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_METHODS } from "../../db/schema";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import * as drivers from "../../services/drivers";
import { LatLngSchema } from "../schemas";

/**
 * Only `limit`: the list is always around the driver's own stored position. Other parameters
 * (the `lat`/`lng` older apps send) are ignored, so they can neither move the search nor break
 * an old app.
 */
const AvailableQuerySchema = z.object({
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
    distance_to_pickup_m: z
      .number()
      .int()
      .openapi({ description: "Straight-line distance from the driver's stored position, metres" }),
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
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  description:
    "For drivers; read only. Rides waiting for a driver, of the driver's vehicle category, with a pickup within the configured radius of the driver's own stored position (the last `POST /v1/drivers/me/location` or go-online point; no coordinates are taken from the query, and other query parameters are ignored). The driver must be online (`409 driver_offline`) with a position no older than the configured freshness (`409 driver_position_stale`). No passenger data; pickup and dropoff rounded to the area.",
  request: { query: AvailableQuerySchema },
  responses: {
    200: jsonContent(z.object({ items: z.array(AvailableRideSchema) }), "Nearest first"),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "forbidden",
      "validation_failed",
      "vehicle_required",
      "driver_offline",
      "driver_position_stale",
      "outside_service_area",
    ),
  },
});

export const availableRideRoutes = createRouter().openapi(available, async (c) => {
  const { limit } = c.req.valid("query");
  const items = await drivers.listAvailableRides(c.get("ctx"), c.get("user").id, limit);
  return c.json({ items }, 200);
});
