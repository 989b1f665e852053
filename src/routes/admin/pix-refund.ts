import { createRoute, z } from "@hono/zod-openapi";
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
import { refundFlaggedPix } from "../../services/reconcile/flagged-pix-refund";

const FlaggedPixRefundSchema = z
  .object({
    id: z.string().openapi({ example: "rfd_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    end_to_end_id: z.string(),
    amount_cents: z.number().int(),
    status: z.enum(["processing", "refunded", "failed"]).openapi({
      description:
        "`processing` until Efí confirms the devolução; `refunded` once the money is back with the payer; `failed` when Efí refused it (nothing moved; it may be asked again)",
    }),
    provider_reference: z.string().nullable().openapi({ description: "Efí's rtrId, once Efí answered" }),
    failure_reason: z.string().nullable(),
    requested_by: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("FlaggedPixRefund");

const refund = createRoute({
  method: "post",
  path: "/{e2e_id}/refund",
  operationId: "refundFlaggedPix",
  tags: ["Admin"],
  summary: "Refund a flagged received Pix",
  description:
    "Staff with the `payments:refund` permission. Gives back, whole, a received Pix that was flagged and credited nothing (a second Pix for a paid payment, a Pix for an expired charge that was regenerated and paid, an unknown txid; see `GET /v1/admin/payments/flagged`), by an Efí devolução. Posts nothing in the ledger: the money never entered it. At most one live refund per Pix: asking again once it is refunded answers that refund and changes nothing; while it is still processing (Efí's outcome not known yet) the answer is 409 `refund_in_progress`, so a Pix is never refunded twice; a refund Efí refused (`failed`) may be asked again, which makes a new devolução. A Pix that paid a payment is refunded through the payment (409 `payment_not_refundable`). Audited. Needs an `Idempotency-Key`.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("payments:refund"), idempotent] as const,
  request: {
    params: z.object({
      e2e_id: z
        .string()
        .regex(/^[a-zA-Z0-9]{32}$/)
        .openapi({ example: "E09089356202611301200abcdefghijk" }),
    }),
    headers: IdempotencyHeaders,
    ...jsonBody(
      z
        .object({
          reason: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .optional()
            .openapi({ description: "Kept in the audit log" }),
        })
        .strict()
        .openapi("RefundFlaggedPixRequest"),
    ),
  },
  responses: {
    202: jsonContent(FlaggedPixRefundSchema, "The refund, usually processing"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "not_found",
      ...IDEMPOTENCY_PROBLEMS,
      "payment_not_refundable",
      "refund_in_progress",
    ),
  },
});

export const adminPixRoutes = createRouter().openapi(refund, async (c) => {
  const view = await refundFlaggedPix(c.get("ctx"), {
    endToEndId: c.req.valid("param").e2e_id,
    actorId: c.get("user").id,
    reason: c.req.valid("json").reason,
  });
  return c.json(view, 202);
});
