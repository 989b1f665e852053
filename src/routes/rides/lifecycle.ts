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
import { PageQuerySchema } from "../../lib/pagination";
import type { ProblemCode } from "../../lib/problem";
import { enforceRateLimit } from "../../services/requests/rate-limit";
import * as rides from "../../services/rides";
import { IdParamSchema } from "../schemas";
import { RideOfferSchema, RideSchema } from "./ride-schema";

const nullableString = z.string().nullable();

/** Accepted from the driver's app (older apps send them) and recorded; never used for the fare. */
const CompleteSchema = z
  .object({
    distance_m: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .openapi({ description: "Advisory: recorded as driver_reported_distance_m, never priced" }),
    duration_s: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .optional()
      .openapi({ description: "Advisory: recorded as driver_reported_duration_s, never priced" }),
  })
  .openapi("CompleteRideRequest");

const CancelSchema = z.object({ reason: z.string().trim().min(1).max(280) }).openapi("CancelRideRequest");

const RatingSchema = z
  .object({ stars: z.number().int().min(1).max(5), comment: z.string().trim().max(500).optional() })
  .openapi("RatingRequest");

const RatingReplySchema = z
  .object({
    ride_id: z.string(),
    rater_id: z.string(),
    ratee_id: z.string(),
    stars: z.number().int(),
    comment: nullableString,
    created_at: z.string(),
  })
  .openapi("Rating");

const security = [{ bearerAuth: [] }];
const TRANSITION_PROBLEMS: ProblemCode[] = [
  ...AUTH_PROBLEMS,
  "validation_failed",
  "forbidden",
  "not_found",
  "invalid_transition",
];

const listRides = createRoute({
  method: "get",
  path: "/",
  operationId: "listRides",
  tags: ["Rides"],
  summary: "The caller's rides, newest first",
  description:
    "For passengers and drivers; read only. A passenger sees the rides they requested; a driver, the rides they took.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger", "driver")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(RideSchema), next_cursor: nullableString }),
      "A page of rides",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const getRide = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getRide",
  tags: ["Rides"],
  summary: "One ride",
  description:
    "Read only. Its passenger and its driver get the ride; any other driver, while it is on offer, gets the offer view (`RideOffer`: no passenger, pickup and dropoff rounded to the area); anyone else gets 404.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(z.union([RideSchema, RideOfferSchema]), "The ride, or its offer view"),
    ...problemResponses(...AUTH_PROBLEMS, "validation_failed", "not_found"),
  },
});

const accept = createRoute({
  method: "post",
  path: "/{id}/accept",
  operationId: "acceptRide",
  tags: ["Rides"],
  summary: "Take a requested ride",
  description:
    "An online driver with a vehicle of the ride's category takes a `requested` ride, which becomes `accepted` and assigned to them. The driver's stored position must be fresh (`409 driver_position_stale`: send `POST /v1/drivers/me/location`) and within the dispatch radius of the pickup (`409 driver_too_far`). Exactly one driver wins however many accept at once; the others get 409.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(RideSchema, "The ride, now accepted by the caller"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...TRANSITION_PROBLEMS,
      "ride_already_accepted",
      "ride_not_requested",
      "driver_has_active_ride",
      "vehicle_required",
      "vehicle_category_mismatch",
      "driver_offline",
      "driver_position_stale",
      "driver_too_far",
      "driver_credit_insufficient",
    ),
  },
});

const driverStep = (step: "arrive" | "start") =>
  createRoute({
    method: "post",
    path: `/{id}/${step}`,
    operationId: step === "arrive" ? "arriveAtPickup" : "startRide",
    tags: ["Rides"],
    summary: step === "arrive" ? "The assigned driver is at the pickup" : "The trip starts",
    description:
      step === "arrive"
        ? "Only the ride's assigned driver; the ride goes from `accepted` to `arrived`."
        : "Only the ride's assigned driver, once arrived; the ride goes from `arrived` to `in_progress`.",
    security,
    middleware: [requireEdgeAuth, requireRole("driver")] as const,
    request: { params: IdParamSchema },
    responses: {
      200: jsonContent(RideSchema, "The ride"),
      ...problemResponses(...BODY_PROBLEMS, ...TRANSITION_PROBLEMS),
    },
  });

const complete = createRoute({
  method: "post",
  path: "/{id}/complete",
  operationId: "completeRide",
  tags: ["Rides"],
  summary: "The trip ends; fixes the final fare",
  description:
    "Only the ride's assigned driver; the ride goes from `in_progress` to `completed` and its payment starts (a Pix charge, a card charge, nothing for cash). The server sets the fare from its own measure of the trip (the driver's positions while in progress, and its own start and end times): the quote (`estimated_fare_cents`), unless the measured trip differs from the quoted one beyond the configured tolerance, when the measured fare is charged (capped at a multiple of the quote) and the ride gets a `fare_review`; a trip with too few positions is charged the quote. `distance_m` and `duration_s` in the body are advisory: recorded, never priced. The driver's last position must be near the dropoff (`422 trip_too_far_from_dropoff`, also when no position was received) unless the passenger ended the trip early (`POST /v1/rides/{id}/end-early`).",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: {
    params: IdParamSchema,
    body: { required: false, content: { "application/json": { schema: CompleteSchema } } },
  },
  responses: {
    200: jsonContent(RideSchema, "The completed ride"),
    ...problemResponses(...BODY_PROBLEMS, ...TRANSITION_PROBLEMS, "trip_too_far_from_dropoff"),
  },
});

const cancel = createRoute({
  method: "post",
  path: "/{id}/cancel",
  operationId: "cancelRide",
  tags: ["Rides"],
  summary: "Cancel a ride not yet started",
  description:
    "By its passenger or its assigned driver. A passenger cancelling more than the grace period after a driver accepted is charged the cancellation fee of the ride's pricing rule, as the ride's payment (`GET /v1/rides/{id}/payment`): on the card on file for a card ride, by a Pix charge for a Pix or cash ride; until it is paid the passenger cannot request another ride. The assigned driver cancelling gives the ride back: it is `requested` again with no driver, the passenger gets `ride.reassigning`, other drivers are offered it (never him again), and it counts toward his cancellation limit (reaching it takes him offline for a cool-down). Rate limited to 10 cancellations an hour per user; past the limit answers 429 with Retry-After.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger", "driver")] as const,
  request: { params: IdParamSchema, ...jsonBody(CancelSchema) },
  responses: {
    200: jsonContent(RideSchema, "The cancelled ride"),
    ...problemResponses(...BODY_PROBLEMS, ...TRANSITION_PROBLEMS, "rate_limited"),
  },
});

const rate = createRoute({
  method: "post",
  path: "/{id}/rating",
  operationId: "rateRide",
  tags: ["Rides"],
  summary: "Rate the other party of a completed ride",
  description:
    "The passenger rates the driver, or the driver the passenger, once per completed ride; a second rating is a 409.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger", "driver")] as const,
  request: { params: IdParamSchema, ...jsonBody(RatingSchema) },
  responses: {
    201: jsonContent(RatingReplySchema, "The rating"),
    ...problemResponses(...BODY_PROBLEMS, ...TRANSITION_PROBLEMS, "already_rated"),
  },
});

export const rideLifecycleRoutes = createRouter()
  .openapi(listRides, async (c) =>
    c.json(await rides.listRides(c.get("ctx"), c.get("user"), c.req.valid("query")), 200),
  )
  .openapi(getRide, async (c) =>
    c.json(await rides.getRide(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(accept, async (c) =>
    c.json(await rides.acceptRide(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(driverStep("arrive"), async (c) =>
    c.json(await rides.driverStep(c.get("ctx"), c.get("user"), c.req.valid("param").id, "arrive"), 200),
  )
  .openapi(driverStep("start"), async (c) =>
    c.json(await rides.driverStep(c.get("ctx"), c.get("user"), c.req.valid("param").id, "start"), 200),
  )
  .openapi(complete, async (c) => {
    const trip = c.req.valid("json") ?? {};
    return c.json(await rides.completeRide(c.get("ctx"), c.get("user"), c.req.valid("param").id, trip), 200);
  })
  .openapi(cancel, async (c) => {
    const { reason } = c.req.valid("json");
    const ctx = c.get("ctx");
    await enforceRateLimit(ctx, "ride_cancel_user", c.get("user").id);
    return c.json(await rides.cancelRide(ctx, c.get("user"), c.req.valid("param").id, reason), 200);
  })
  .openapi(rate, async (c) => {
    return c.json(
      await rides.rateRide(c.get("ctx"), c.get("user"), c.req.valid("param").id, c.req.valid("json")),
      201,
    );
  });
