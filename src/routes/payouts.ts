import { createRoute, z } from "@hono/zod-openapi";
import { PAYOUT_STATUSES } from "../db/schema";
import { requireAuth, requireRole } from "../http/auth";
import { idempotent } from "../http/idempotency";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  IDEMPOTENCY_PROBLEMS,
  IdempotencyHeaders,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { PageQuerySchema } from "../lib/pagination";
import { PIX_KEY_TYPES } from "../lib/pix-keys";
import { listPayouts } from "../services/payouts/list";
import { requestPayout } from "../services/payouts/request";

export const PayoutSchema = z
  .object({
    id: z.string().openapi({ example: "pout_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    status: z.enum(PAYOUT_STATUSES).openapi({
      description:
        "`in_transit` until the Pix rail reports `paid` or `failed`; a failed payout's money is back in the available balance",
    }),
    amount_cents: z.number().int().openapi({ description: "What the Pix key receives" }),
    fee_cents: z.number().int().openapi({ description: "Charged on top of the amount" }),
    pix_key: z
      .string()
      .openapi({ example: "*******8909", description: "Masked: only the last four characters" }),
    pix_key_type: z.enum(PIX_KEY_TYPES),
    rail: z.string().openapi({ example: "local" }),
    failure_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Payout");

const CreatePayoutSchema = z
  .object({
    amount_cents: z
      .number()
      .int()
      .positive()
      .max(100_000_000)
      .openapi({ example: 5000, description: "At least the configured minimum payout" }),
    pix_key: z.string().min(1).max(100).openapi({
      example: "+5511987654321",
      description:
        "A CPF (11 digits), a CNPJ (14 characters), an e-mail (at most 77 characters), a phone as +55 with area code, or a random key (UUID)",
    }),
  })
  .openapi("CreatePayoutRequest");

const security = [{ bearerAuth: [] }];

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createPayout",
  tags: ["Payouts"],
  summary: "Pay out the available balance by Pix",
  description:
    "For drivers. Moves `amount_cents` plus the payout fee out of the available balance at once (of concurrent payouts for one balance, only those it covers succeed; the others get 409 `insufficient_funds`) and sends it by Pix. Answered 202 with the payout: `in_transit` until the rail reports, or already `paid` or `failed` when the rail knows at once. Needs an `Idempotency-Key`: a retry returns the first reply and moves no money twice.",
  security,
  middleware: [requireAuth, requireRole("driver"), idempotent] as const,
  request: {
    ...jsonBody(CreatePayoutSchema),
    headers: IdempotencyHeaders,
  },
  responses: {
    202: jsonContent(PayoutSchema, "The payout"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      ...IDEMPOTENCY_PROBLEMS,
      "invalid_pix_key",
      "payout_below_minimum",
      "insufficient_funds",
    ),
  },
});

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listPayouts",
  tags: ["Payouts"],
  summary: "The driver's payouts, newest first",
  description: "For drivers; read only. Each payout with its status on the Pix rail and a masked Pix key.",
  security,
  middleware: [requireAuth, requireRole("driver")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(PayoutSchema), next_cursor: z.string().nullable() }),
      "A page of payouts",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

export const payoutRoutes = createRouter()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const payout = await requestPayout(c.get("ctx"), c.get("user").id, {
      amountCents: body.amount_cents,
      pixKey: body.pix_key,
    });
    return c.json(payout, 202);
  })
  .openapi(list, async (c) =>
    c.json(await listPayouts(c.get("ctx"), c.get("user").id, c.req.valid("query")), 200),
  );
