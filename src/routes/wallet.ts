import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requireRole } from "../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import { PageQuerySchema } from "../lib/pagination";
import { statementOf, WALLET_ACCOUNTS, walletOf } from "../services/ledger/wallet";

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

const security = [{ bearerAuth: [] }];

const getWallet = createRoute({
  method: "get",
  path: "/v1/wallet",
  tags: ["Wallet"],
  summary: "The driver's balances",
  security,
  middleware: [requireAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(WalletSchema, "The balances, in centavos"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

const getEntries = createRoute({
  method: "get",
  path: "/v1/wallet/entries",
  tags: ["Wallet"],
  summary: "The driver's statement, newest first",
  description:
    "Every entry on the pending, available and credit accounts, each linked to the ride, payout or settlement that caused it.",
  security,
  middleware: [requireAuth, requireRole("driver")] as const,
  request: { query: StatementQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(StatementLineSchema), next_cursor: z.string().nullable() }),
      "A page of statement lines",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

export const walletRoutes = createRouter()
  .openapi(getWallet, async (c) => c.json(await walletOf(c.get("ctx"), c.get("user").id), 200))
  .openapi(getEntries, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = { limit, cursor: cursor === undefined ? undefined : Number(cursor) };
    return c.json(await statementOf(c.get("ctx"), c.get("user").id, page), 200);
  });
