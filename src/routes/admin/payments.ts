import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES } from "../../db/schema";
import { requireAuth, requirePermission } from "../../http/auth";
import { idempotent } from "../../http/idempotency";
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
import { requestRefund } from "../../services/refunds/refunds";

const RefundSchema = z
  .object({
    id: z.string().openapi({ example: "rfd_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    payment_id: z.string(),
    status: z.enum(["processing", "refunded", "failed"]).openapi({
      description:
        "`processing` until the provider confirms (Efí's refund webhook); `refunded` once the money is back with the payer and the ledger reversed; `failed` if the provider did not make it (nothing moved)",
    }),
    amount_cents: z.number().int(),
    provider_reference: z
      .string()
      .nullable()
      .openapi({ description: "Efí's rtrId of a Pix refund, once Efí answered" }),
    failure_reason: z.string().nullable(),
    requested_by: z.string().nullable(),
    ledger_transaction_id: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Refund");

const RefundReplySchema = z
  .object({
    refund: RefundSchema,
    payment: z.object({
      id: z.string(),
      status: z.enum(PAYMENT_STATUSES),
      method: z.enum(["pix", "card"]),
      amount_cents: z.number().int(),
      refunded_cents: z.number().int().openapi({ description: "Confirmed refunds so far" }),
      refundable_cents: z
        .number()
        .int()
        .openapi({ description: "What may still be refunded: amount − refunded − refunds processing" }),
    }),
  })
  .openapi("RefundReply");

const CreateRefundSchema = z
  .object({
    amount_cents: z.number().int().positive().max(100_000_000).optional().openapi({
      example: 500,
      description: "Centavos to give back; omitted, everything still refundable (a full refund)",
    }),
    reason: z.string().trim().min(1).max(500).optional().openapi({
      example: "Passenger charged for a trip the driver cut short",
      description: "Why; kept in the audit log",
    }),
  })
  .strict()
  .openapi("CreateRefundRequest");

const refund = createRoute({
  method: "post",
  path: "/v1/admin/payments/{id}/refund",
  tags: ["Admin"],
  summary: "Refund a payment, fully or in part",
  description:
    "Refunds a paid (or partially refunded) payment through its provider: a Pix payment by an Efí refund (devolução) of the received Pix, a card payment by the card provider. Never more than what is left (the amount paid, less what was refunded and refunds still processing): 422 `refund_exceeds_paid`. Answered 202 with the refund, usually `processing`: the ledger reversal (the driver's share from their available balance, the rest from revenue) and the payment's `refunded_cents` move only when Efí confirms. Audited. Needs an `Idempotency-Key`: a retry returns the first reply and refunds once.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("payments:refund"), idempotent] as const,
  request: {
    params: z.object({
      id: z.string().min(1).max(64).openapi({ example: "pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    }),
    headers: IdempotencyHeaders,
    ...jsonBody(CreateRefundSchema),
  },
  responses: {
    202: jsonContent(RefundReplySchema, "The refund, and the payment's figures after it"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "not_found",
      ...IDEMPOTENCY_PROBLEMS,
      "payment_not_refundable",
      "refund_exceeds_paid",
    ),
  },
});

export const adminPaymentRoutes = createRouter().openapi(refund, async (c) => {
  const body = c.req.valid("json");
  const result = await requestRefund(c.get("ctx"), {
    paymentId: c.req.valid("param").id,
    amountCents: body.amount_cents,
    reason: body.reason,
    actorId: c.get("user").id,
  });
  return c.json(result, 202);
});
