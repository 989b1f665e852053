import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import { QUOTE_MATCH_TOLERANCE_M } from "../../services/pricing/fares";
import { createQuote } from "../../services/pricing/quote";
import { enforceRateLimit } from "../../services/requests/rate-limit";
import { CategorySchema, distinctTripPoints, LatLngSchema, MIN_TRIP_DISTANCE_M } from "../schemas";

const QuoteRequestSchema = z
  .object({ pickup: LatLngSchema, dropoff: LatLngSchema, category: CategorySchema })
  .superRefine(distinctTripPoints)
  .openapi("QuoteRequest", {
    description: `Pickup and dropoff must be in the same service area and at least ${MIN_TRIP_DISTANCE_M} m apart.`,
  });

const QuoteSchema = z
  .object({
    quote_id: z.string().openapi({ example: "qte_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    category: z.string().openapi({ example: "pop" }),
    estimated_fare_cents: z.number().int().openapi({ example: 1432, description: "Integer BRL centavos" }),
    distance_m: z.number().int().openapi({ example: 3720, description: "Estimated road distance" }),
    duration_s: z.number().int().openapi({ example: 536, description: "Estimated driving time" }),
    surge_multiplier: z.number().openapi({ example: 1, description: "1 means no surge; 1.5 is 50% more" }),
    expires_at: z.string().openapi({ example: "2026-11-29T12:02:00.000Z" }),
    currency: z.literal("BRL"),
    outstanding_fee_cents: z.number().int().openapi({
      example: 0,
      description:
        "Cancellation fees the passenger has not paid, in centavos. While above 0, requesting a ride answers 409 outstanding_cancellation_fee; each fee is paid as its ride's payment (GET /v1/rides/{id}/payment)",
    }),
    outstanding_fee_ride_ids: z
      .array(z.string())
      .openapi({ description: "The cancelled rides whose fee is unpaid" }),
  })
  .openapi("Quote");

const quote = createRoute({
  method: "post",
  path: "/",
  operationId: "quoteRide",
  tags: ["Rides"],
  summary: "Price a trip before requesting it",
  description: [
    "For passengers; stores the quote and changes nothing else.",
    "Estimates road distance and driving time and prices them with the rule in force for the city and category.",
    "The fare is `max(round_half_up((base + per_km × km + per_minute × min) × surge), minimum) + booking_fee`, in integer centavos, rounded once.",
    "A ride requested with the `quote_id` before `expires_at`, for the same category and with pickup and dropoff",
    `each within ${QUOTE_MATCH_TOLERANCE_M} m of the quoted ones, keeps the quoted price.`,
    "Rate limited to 60 quotes a minute per passenger; past the limit answers 429 with Retry-After.",
  ].join(" "),
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("passenger")] as const,
  request: jsonBody(QuoteRequestSchema),
  responses: {
    200: jsonContent(QuoteSchema, "The quote"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "outside_service_area",
      "category_not_offered",
      "rate_limited",
    ),
  },
});

export const quoteRoutes = createRouter().openapi(quote, async (c) => {
  const ctx = c.get("ctx");
  await enforceRateLimit(ctx, "quote_user", c.get("user").id);
  const result = await createQuote(ctx, c.get("user").id, c.req.valid("json"));
  return c.json(result, 200);
});
