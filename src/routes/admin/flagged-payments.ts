import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { WEBHOOK_EVENT_KINDS } from "../../queues/messages";
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

const list = createRoute({
  method: "get",
  path: "/v1/admin/payments/flagged",
  tags: ["Admin"],
  summary: "Webhook items flagged for a person",
  description:
    "Efí notifications the payments consumer would not apply, newest first: a Pix whose amount differs from its charge, a second Pix for a paid payment (to refund), an unknown txid or idEnvio, money back from a payout, or an item Efí never confirmed. Nothing was credited for any of them.",
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

export const adminFlaggedPaymentRoutes = createRouter().openapi(list, async (c) => {
  return c.json(await listFlaggedWebhookEvents(c.get("ctx"), c.req.valid("query")), 200);
});
