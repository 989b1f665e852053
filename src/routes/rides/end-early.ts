import { createRoute } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import * as rides from "../../services/rides";
import { IdParamSchema } from "../schemas";
import { RideSchema } from "./ride-schema";

const endEarly = createRoute({
  method: "post",
  path: "/{id}/end-early",
  operationId: "endRideEarly",
  tags: ["Rides"],
  summary: "The passenger ends the trip before the dropoff",
  description:
    "Only the ride's passenger, while the trip is `in_progress`. The ride stays in progress until its driver completes it, which is then allowed wherever the car is (not only near the dropoff); the fare is the trip measured up to then, never more than the quote (the quote if it could not be measured). The driver gets `ride.ended_early` on the ride socket and his channel. A second call changes nothing.",
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("passenger")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(RideSchema, "The ride, still in progress"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "validation_failed",
      "forbidden",
      "not_found",
      "invalid_transition",
    ),
  },
});

export const rideEndEarlyRoutes = createRouter().openapi(endEarly, async (c) =>
  c.json(await rides.endRideEarly(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
);
