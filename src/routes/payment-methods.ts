import { createRoute, z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES } from "../db/schema";
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
import * as cards from "../services/payments/cards";
import { IdParamSchema } from "./schemas";

// Cards on file and the retry of a refused card payment. The payment token never leaves the
// server once stored: replies show the brand and the last four digits only.

export const CardSchema = z
  .object({
    id: z.string().openapi({ example: "pm_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    brand: z.enum(cards.CARD_BRANDS),
    last4: z.string().openapi({ example: "4242" }),
    created_at: z.string(),
  })
  .openapi("Card");

const AddCardSchema = z
  .object({
    payment_token: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 visible characters")
      .openapi({
        example: "6426f3abd8688639c6772963669bbb8e0eb3c319",
        description: "From the provider's device SDK (Efí: `getPaymentToken()` with `reuse: true`)",
      }),
    brand: z.enum(cards.CARD_BRANDS),
    last4: z
      .string()
      .regex(/^\d{4}$/, "must be the card number's last 4 digits")
      .openapi({ example: "4242" }),
  })
  .openapi("AddCardRequest");

export const CardPaymentSchema = z
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

const addCard = createRoute({
  method: "post",
  path: "/v1/payment-methods/cards",
  tags: ["Payment methods"],
  summary: "Store a tokenised card",
  description:
    "The card is tokenised on the device by the provider's SDK; only the token, the brand and the last four digits reach us. Card rides are charged on the most recent card. Needs the CPF given at registration (`409 cpf_required` without it): the card provider does not charge without it.",
  security,
  middleware: [requireAuth, requireRole("passenger")] as const,
  request: jsonBody(AddCardSchema),
  responses: {
    201: jsonContent(CardSchema, "The stored card, without its token"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "cpf_required"),
  },
});

const listCards = createRoute({
  method: "get",
  path: "/v1/payment-methods",
  tags: ["Payment methods"],
  summary: "The caller's cards, newest first",
  security,
  middleware: [requireAuth, requireRole("passenger")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(CardSchema), next_cursor: z.string().nullable() }),
      "A page of cards",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const retryPayment = createRoute({
  method: "post",
  path: "/v1/rides/{id}/payment/retry",
  tags: ["Payment methods"],
  summary: "Charge a card ride again after a refusal",
  description:
    "The ride's passenger retries a `failed` card payment, on `payment_method_id` or their most recent card. Answered 200 with the payment after the attempt, whatever the card said: `paid`, `failed` again with the reason, or `pending`. A payment that is paid or still pending is `409 payment_not_retryable`; of concurrent retries one charges and the others get that 409. Needs an `Idempotency-Key`.",
  security,
  middleware: [requireAuth, requireRole("passenger"), idempotent] as const,
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

export const paymentMethodRoutes = createRouter()
  .openapi(addCard, async (c) => {
    const body = c.req.valid("json");
    const card = await cards.addCard(c.get("ctx"), c.get("user").id, {
      paymentToken: body.payment_token,
      brand: body.brand,
      last4: body.last4,
    });
    return c.json(card, 201);
  })
  .openapi(listCards, async (c) => {
    const page = await cards.listCards(c.get("ctx"), c.get("user").id, c.req.valid("query"));
    return c.json(page, 200);
  })
  .openapi(retryPayment, async (c) => {
    const body = c.req.valid("json") ?? {};
    const payment = await cards.retryCardPayment(c.get("ctx"), c.get("user").id, c.req.valid("param").id, {
      paymentMethodId: body.payment_method_id,
    });
    return c.json(payment, 200);
  });
