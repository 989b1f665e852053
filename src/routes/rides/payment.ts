import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES } from "../../db/schema";
import { requireEdgeAuth, requireRole } from "../../http/auth";
import { idempotent } from "../../http/idempotency";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  IDEMPOTENCY_PROBLEMS,
  IdempotencyHeaders,
  jsonContent,
  problemResponses,
} from "../../http/router";
import { retryCardPayment } from "../../services/payments/card/retry";
import { getRidePayment } from "../../services/payments/read";
import { regenerateRidePayment } from "../../services/payments/regenerate";
import { IdParamSchema, PaymentSchema } from "../schemas";

const CardPaymentSchema = z
  .object({
    id: z.string().openapi({ example: "pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    purpose: z.enum(["ride", "credit_topup"]),
    status: z.enum(PAYMENT_STATUSES).openapi({
      description:
        "`paid`; `failed` (retry it, on another card if need be); `pending` while the card's issuer decides",
    }),
    method: z.enum(["pix", "card"]),
    amount_cents: z.number().int(),
    refunded_cents: z.number().int(),
    ride_id: z.string().nullable(),
    payer_id: z.string(),
    pix: z.null().openapi({ description: "Always null: a card payment has no Pix charge" }),
    attempt: z.number().int().openapi({ description: "1 for the charge at completion, +1 per retry" }),
    failure_reason: z
      .string()
      .nullable()
      .openapi({ description: "Why the last attempt failed: the card issuer's words for a refusal" }),
    created_at: z.string(),
    updated_at: z.string(),
    paid_at: z.string().nullable(),
  })
  .openapi("CardPayment");

const RetrySchema = z
  .object({
    payment_method_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "One of the caller's cards; the most recent one when omitted" }),
  })
  .openapi("RetryCardPaymentRequest");

const security = [{ bearerAuth: [] }];

const getPayment = createRoute({
  method: "get",
  path: "/{id}/payment",
  operationId: "getRidePayment",
  tags: ["Rides"],
  summary: "The payment of a ride",
  description:
    "For the ride's passenger or driver (anyone else gets 404). A cancelled ride's payment is its cancellation fee. A completed Pix ride, or a Pix or cash ride cancelled with a fee, whose charge could not be created at completion or cancellation gets it now.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment"),
    ...problemResponses(...AUTH_PROBLEMS, "validation_failed", "not_found", "payment_not_found"),
  },
});

const regenerate = createRoute({
  method: "post",
  path: "/{id}/payment/regenerate",
  operationId: "regenerateRidePayment",
  tags: ["Rides"],
  summary: "A new Pix charge for an expired one",
  description:
    "For the ride's passenger or driver. An expired charge is replaced by a new one (new txid, new QR code, `attempt` + 1, `pending`) and `payment.qr_generated` is sent again. A charge still payable is returned unchanged, so retries and concurrent calls get one charge.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment with a payable charge"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "not_found",
      "payment_not_found",
      "payment_not_pending",
      "payment_not_pix",
      "payment_provider_unavailable",
    ),
  },
});

const retry = createRoute({
  method: "post",
  path: "/{id}/payment/retry",
  operationId: "retryRidePayment",
  tags: ["Rides"],
  summary: "Charge a card ride again after a refusal",
  description:
    "The ride's passenger retries a `failed` card payment, on `payment_method_id` or their most recent card. Answered 200 with the payment after the attempt, whatever the card said: `paid`, `failed` again with the reason, or `pending`. A payment that is paid or still pending is `409 payment_not_retryable`; of concurrent retries one charges and the others get that 409. Needs an `Idempotency-Key`.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger"), idempotent] as const,
  request: {
    params: IdParamSchema,
    headers: IdempotencyHeaders,
    body: { required: false, content: { "application/json": { schema: RetrySchema } } },
  },
  responses: {
    200: jsonContent(CardPaymentSchema, "The payment after this attempt"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "not_found",
      ...IDEMPOTENCY_PROBLEMS,
      "card_required",
      "payment_not_retryable",
    ),
  },
});

/** A ride's payment: read it, regenerate an expired Pix charge, retry a refused card. */
export const ridePaymentRoutes = createRouter()
  .openapi(getPayment, async (c) =>
    c.json(await getRidePayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(regenerate, async (c) =>
    c.json(await regenerateRidePayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(retry, async (c) => {
    const body = c.req.valid("json") ?? {};
    const payment = await retryCardPayment(c.get("ctx"), c.get("user").id, c.req.valid("param").id, {
      paymentMethodId: body.payment_method_id,
    });
    return c.json(payment, 200);
  });
