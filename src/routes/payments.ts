import { createRoute } from "@hono/zod-openapi";
import { requireEdgeAuth } from "../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import { getPayment } from "../services/payments/read";
import { IdParamSchema, PaymentSchema } from "./schemas";

const getOne = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getPayment",
  tags: ["Payments"],
  summary: "One payment",
  description:
    "For its payer (and, for a ride's payment, the ride's driver); anyone else gets 404. Read only, except that a pending Pix payment whose charge is missing gets it now.",
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment"),
    ...problemResponses(...AUTH_PROBLEMS, "validation_failed", "payment_not_found"),
  },
});

export const paymentRoutes = createRouter().openapi(getOne, async (c) =>
  c.json(await getPayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
);
