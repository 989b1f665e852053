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
import * as payments from "../services/payments/pix";
import { IdParamSchema } from "./schemas";

const nullableString = z.string().nullable();

const PixChargeSchema = z
  .object({
    txid: nullableString.openapi({ description: "Efí's charge id; null until the charge exists" }),
    end_to_end_id: nullableString.openapi({ description: "The Pix that paid it, once paid" }),
    copia_e_cola: nullableString.openapi({ description: "The BR Code to paste in a bank app" }),
    qr_code_png: nullableString.openapi({ description: "The QR code as a `data:image/png;base64,` URI" }),
    expires_at: nullableString.openapi({ description: "After this the charge cannot be paid" }),
    attempt: z.number().int().openapi({ description: "1, then +1 per regenerated charge" }),
  })
  .openapi("PixCharge");

export const PaymentSchema = z
  .object({
    id: z.string().openapi({ example: "pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    purpose: z.enum(["ride", "credit_topup"]),
    status: z.enum(PAYMENT_STATUSES).openapi({
      description: "A pending Pix charge past its `expires_at` reads `expired` (regenerate it for a new one)",
    }),
    method: z.enum(["pix", "card"]),
    amount_cents: z.number().int(),
    refunded_cents: z.number().int(),
    ride_id: nullableString,
    payer_id: z.string(),
    pix: PixChargeSchema.nullable().openapi({
      description:
        "The Pix charge (null for a card payment). While `txid` is null the charge is still being created: read again shortly.",
    }),
    created_at: z.string(),
    updated_at: z.string(),
    paid_at: nullableString,
  })
  .openapi("Payment");

const TopupSchema = z
  .object({
    amount_cents: z
      .number()
      .int()
      .positive()
      .max(100_000_000)
      .openapi({
        example: 5000,
        description: `Between ${payments.TOPUP_MIN_CENTS} and ${payments.TOPUP_MAX_CENTS} centavos (R$ 10,00 to R$ 1.000,00)`,
      }),
  })
  .openapi("CreditTopupRequest");

const security = [{ bearerAuth: [] }];

const getRidePayment = createRoute({
  method: "get",
  path: "/v1/rides/{id}/payment",
  tags: ["Payments"],
  summary: "The payment of a ride",
  description:
    "For the ride's passenger or driver (anyone else gets 404). A completed Pix ride whose charge could not be created at completion gets it now.",
  security,
  middleware: [requireAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment"),
    ...problemResponses(...AUTH_PROBLEMS, "not_found", "payment_not_found"),
  },
});

const regenerate = createRoute({
  method: "post",
  path: "/v1/rides/{id}/payment/regenerate",
  tags: ["Payments"],
  summary: "A new Pix charge for an expired one",
  description:
    "For the ride's passenger or driver. An expired charge is replaced by a new one (new txid, new QR code, `attempt` + 1, `pending`) and `payment.qr_generated` is sent again. A charge still payable is returned unchanged, so retries and concurrent calls get one charge.",
  security,
  middleware: [requireAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment with a payable charge"),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "not_found",
      "payment_not_found",
      "payment_not_pending",
      "payment_not_pix",
      "payment_provider_unavailable",
    ),
  },
});

const createTopup = createRoute({
  method: "post",
  path: "/v1/wallet/credit/topups",
  tags: ["Wallet"],
  summary: "Buy prepaid credit by Pix",
  description:
    "Answers 201 with a Pix charge (copia e cola and QR code); the credit is added when the Pix is confirmed. Needs an `Idempotency-Key`: a retry returns the first reply and creates no second charge.",
  security,
  middleware: [requireAuth, requireRole("driver"), idempotent] as const,
  request: {
    ...jsonBody(TopupSchema),
    headers: IdempotencyHeaders,
  },
  responses: {
    201: jsonContent(PaymentSchema, "The top-up payment and its charge"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      ...IDEMPOTENCY_PROBLEMS,
      "topup_amount_out_of_range",
      "payment_provider_unavailable",
    ),
  },
});

const getPayment = createRoute({
  method: "get",
  path: "/v1/payments/{id}",
  tags: ["Payments"],
  summary: "One payment",
  description: "For its payer (and, for a ride's payment, the ride's driver); anyone else gets 404.",
  security,
  middleware: [requireAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(PaymentSchema, "The payment"),
    ...problemResponses(...AUTH_PROBLEMS, "payment_not_found"),
  },
});

export const paymentRoutes = createRouter()
  .openapi(getRidePayment, async (c) =>
    c.json(await payments.getRidePayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(regenerate, async (c) =>
    c.json(await payments.regenerateRidePayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  )
  .openapi(createTopup, async (c) => {
    const { amount_cents } = c.req.valid("json");
    return c.json(await payments.createCreditTopup(c.get("ctx"), c.get("user").id, amount_cents), 201);
  })
  .openapi(getPayment, async (c) =>
    c.json(await payments.getPayment(c.get("ctx"), c.get("user"), c.req.valid("param").id), 200),
  );
