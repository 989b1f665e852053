import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../http/auth";
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
import { createCreditTopup, TOPUP_MAX_CENTS, TOPUP_MIN_CENTS } from "../services/payments/topups";
import { assertTopupAllowed, MAX_PENDING_TOPUPS } from "../services/requests/topup-limit";
import { WALLET_ACCOUNTS, walletOf } from "../services/wallet/balances";
import { statementOf } from "../services/wallet/statement";
import { PaymentSchema } from "./schemas";

const WalletSchema = z
  .object({
    pending_cents: z
      .number()
      .int()
      .openapi({ description: "Earned, released D+N business days after payment" }),
    available_cents: z.number().int().openapi({ description: "May be paid out" }),
    credit_cents: z.number().int().openapi({
      description:
        "Prepaid credit that cash-ride commissions are taken from; may be negative down to the configured floor",
    }),
    debt_cents: z.number().int().min(0).openapi({
      description:
        "What the driver owes (a payment taken back after his share was paid out): recovered first from the next earnings; blocks payouts, and going online beyond the configured limit",
    }),
    currency: z.literal("BRL"),
  })
  .openapi("Wallet");

const StatementLineSchema = z
  .object({
    id: z.string(),
    account: z.enum(WALLET_ACCOUNTS),
    amount_cents: z
      .number()
      .int()
      .openapi({ description: "Positive adds to the account's balance, negative takes from it" }),
    kind: z.string().openapi({ example: "payout.request" }),
    ride_id: z.string().nullable(),
    payout_id: z.string().nullable(),
    settlement_id: z.string().nullable(),
    transaction_id: z.string(),
    effective_at: z.string().openapi({ description: "The business moment (ride end, settlement day)" }),
    created_at: z.string(),
  })
  .openapi("StatementLine");

const StatementQuerySchema = PageQuerySchema.extend({
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be the next_cursor of a previous page")
    .optional()
    .openapi({ description: "`next_cursor` of the previous page" }),
});

const TopupSchema = z
  .object({
    amount_cents: z
      .number()
      .int()
      .positive()
      .max(100_000_000)
      .openapi({
        example: 5000,
        description: `Between ${TOPUP_MIN_CENTS} and ${TOPUP_MAX_CENTS} centavos (R$ 10,00 to R$ 1.000,00)`,
      }),
  })
  .openapi("CreditTopupRequest");

const security = [{ bearerAuth: [] }];

const getWallet = createRoute({
  method: "get",
  path: "/",
  operationId: "getWallet",
  tags: ["Wallet"],
  summary: "The driver's balances",
  description:
    "For drivers; read only. Pending earnings, the available balance that may be paid out, and prepaid credit.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(WalletSchema, "The balances, in centavos"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

const getEntries = createRoute({
  method: "get",
  path: "/entries",
  operationId: "listWalletEntries",
  tags: ["Wallet"],
  summary: "The driver's statement, newest first",
  description:
    "For drivers; read only. Every entry on the pending, available and credit accounts, each linked to the ride, payout or settlement that caused it.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: { query: StatementQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(StatementLineSchema), next_cursor: z.string().nullable() }),
      "A page of statement lines",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const createTopup = createRoute({
  method: "post",
  path: "/credit/topups",
  operationId: "createCreditTopup",
  tags: ["Wallet"],
  summary: "Buy prepaid credit by Pix",
  description: [
    "For drivers. Answers 201 with a Pix charge (copia e cola and QR code); the credit is added when the Pix is confirmed. Needs an `Idempotency-Key`: a retry returns the first reply and creates no second charge.",
    `A driver holds at most ${MAX_PENDING_TOPUPS} pending (unpaid, unexpired) top-ups: past that answers 429 with Retry-After, the seconds until the first of them lapses.`,
  ].join(" "),
  security,
  middleware: [requireEdgeAuth, requireRole("driver"), idempotent] as const,
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
      "rate_limited",
    ),
  },
});

export const walletRoutes = createRouter()
  .openapi(getWallet, async (c) => c.json(await walletOf(c.get("ctx"), c.get("user").id), 200))
  .openapi(getEntries, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = { limit, cursor: cursor === undefined ? undefined : Number(cursor) };
    return c.json(await statementOf(c.get("ctx"), c.get("user").id, page), 200);
  })
  .openapi(createTopup, async (c) => {
    const { amount_cents } = c.req.valid("json");
    const ctx = c.get("ctx");
    await assertTopupAllowed(ctx, c.get("user").id);
    return c.json(await createCreditTopup(ctx, c.get("user").id, amount_cents), 201);
  });
