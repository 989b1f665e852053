import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_METHODS } from "../../db/schema";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import { idempotentInBatch, replayResponse } from "../../http/idempotency";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  IDEMPOTENCY_PROBLEMS,
  IdempotencyHeaders,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import { enforceRateLimit } from "../../services/requests/rate-limit";
import * as rides from "../../services/rides";
import { CategorySchema, distinctTripPoints, LatLngSchema } from "../schemas";
import { RideSchema } from "./ride-schema";

const security = [{ bearerAuth: [] }];

const CreateRideSchema = z
  .object({
    pickup: LatLngSchema,
    dropoff: LatLngSchema,
    category: CategorySchema,
    payment_method: z.enum(PAYMENT_METHODS),
    quote_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "Keeps the quoted price while valid" }),
  })
  .superRefine(distinctTripPoints)
  .openapi("CreateRideRequest");

const createRide = createRoute({
  method: "post",
  path: "/",
  operationId: "createRide",
  tags: ["Rides"],
  summary: "Request a ride",
  description:
    "A passenger without an active ride and without an unpaid cancellation fee (`409 outstanding_cancellation_fee`; the quote shows it) asks for a ride; it is offered to nearby drivers until one accepts or it expires. Needs an `Idempotency-Key` header: a retry with the same key and body returns the first reply (with `idempotent-replayed: true`); the same key with another body is a 422. Rate limited to 10 requests per passenger in 10 minutes (a replay does not count); past the limit answers 429 with Retry-After.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger"), idempotentInBatch] as const,
  request: {
    ...jsonBody(CreateRideSchema),
    headers: IdempotencyHeaders,
  },
  responses: {
    201: jsonContent(RideSchema, "The requested ride"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      ...IDEMPOTENCY_PROBLEMS,
      "passenger_has_active_ride",
      "outstanding_cancellation_fee",
      "outside_service_area",
      "category_not_offered",
      "payment_method_not_offered",
      "card_required",
      "quote_not_found",
      "quote_expired",
      "quote_mismatch",
      "rate_limited",
    ),
  },
});

/** POST /v1/rides: a passenger asks for a ride. */
export const rideRequestRoutes = createRouter().openapi(createRide, async (c) => {
  const [ctx, userId] = [c.get("ctx"), c.get("user").id];
  const admit = () => enforceRateLimit(ctx, "ride_request_user", userId);
  const outcome = await rides.createRide(ctx, userId, c.req.valid("json"), {
    claim: c.get("idempotency"),
    admit,
  });
  // The stored first reply as it was sent (the route's typing knows only the fresh 201).
  return outcome.kind === "replay" ? (replayResponse(outcome.reply) as never) : c.json(outcome.ride, 201);
});
