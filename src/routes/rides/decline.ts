import { createRoute } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { declineOffer } from "../../services/dispatch";
import { IdParamSchema } from "../schemas";
import { DeclinedOfferSchema } from "./offer-schema";

const decline = createRoute({
  method: "post",
  path: "/{id}/decline",
  operationId: "declineRideOffer",
  tags: ["Rides"],
  summary: "Turn down a ride offered to the driver",
  description:
    "Only a driver holding an open offer of this ride, within its window. A ride never offered to the caller is 404; an offer already declined, expired, withdrawn or accepted is `409 offer_not_open`. The ride is never offered to this driver again; when no offer of it is left open, the next batch of drivers is offered it at once. No body.",
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(DeclinedOfferSchema, "The offer, declined"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "not_found", "offer_not_open"),
  },
});

export const rideDeclineRoutes = createRouter().openapi(decline, async (c) =>
  c.json(await declineOffer(c.get("ctx"), c.get("user").id, c.req.valid("param").id), 200),
);
