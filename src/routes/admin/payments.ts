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
import { PageQuerySchema } from "../../lib/pagination";
import { WEBHOOK_EVENT_KINDS } from "../../services/queue-messages";
import { requestRefund } from "../../services/refunds/request";
import { listFlaggedWebhookEvents } from "../../services/webhooks/ingest";

const FlaggedSchema = z
  .object({
    id: z.string().openapi({ example: "whk_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    kind: z.enum(WEBHOOK_EVENT_KINDS),
    end_to_end_id: z.string(),
    refund_id: z.string().nullable(),
    detail: z.string().nullable().openapi({
      example: "amount mismatch: payment pay_… is 1350, the charge 1350, the Pix 1000 centavos",
    }),
    item: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The item as stored: amounts in centavos, txid, idEnvio, refund status" }),
    received_at: z.string(),
    flagged_at: z.string().nullable(),
  })
  .openapi("FlaggedWebhookEvent");

const listFlagged = createRoute({
  method: "get",
  path: "/flagged",
  operationId: "listFlaggedPayments",
  tags: ["Admin"],
  summary: "Webhook items flagged for a person",
  description:
    "Staff with the `payments:refund` permission; read only. Efí notifications the payments consumer would not apply, newest first: a Pix whose amount differs from its charge, a second Pix for a paid payment (to refund), an unknown txid or idEnvio, money back from a payout, or an item Efí never confirmed. Nothing was credited for any of them.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("payments:refund")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(FlaggedSchema), next_cursor: z.string().nullable() }),
      "A page of flagged items",
    ),
    ...problemResponses("validation_failed", ...AUTH_PROBLEMS, "forbidden"),
  },
});

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
  path: "/{id}/refund",
  operationId: "refundPayment",
  tags: ["Admin"],
  summary: "Refund a payment, fully or in part",
  description:
    "Staff with the `payments:refund` permission. Refunds a paid (or partially refunded) payment through its provider: a Pix payment by an Efí refund (devolução) of the received Pix, a card payment by the card provider. Never more than what is left (the amount paid, less what was refunded and refunds still processing): 422 `refund_exceeds_paid`. Answered 202 with the refund, usually `processing`: the ledger reversal (the driver's share from their available balance, the rest from revenue) and the payment's `refunded_cents` move only when Efí confirms. Audited. Needs an `Idempotency-Key`: a retry returns the first reply and refunds once.",
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

export const adminPaymentRoutes = createRouter()
  .openapi(listFlagged, async (c) =>
    c.json(await listFlaggedWebhookEvents(c.get("ctx"), c.req.valid("query")), 200),
  )
  .openapi(refund, async (c) => {
    const body = c.req.valid("json");
    const result = await requestRefund(c.get("ctx"), {
      paymentId: c.req.valid("param").id,
      amountCents: body.amount_cents,
      reason: body.reason,
      actorId: c.get("user").id,
    });
    return c.json(result, 202);
  });
