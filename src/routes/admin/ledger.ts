import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { checkLedger } from "../../services/ledger/check";
import { LEDGER_INVARIANTS } from "../../services/ledger/invariants";

const LedgerCheckSchema = z
  .object({
    ok: z.boolean().openapi({ description: "True when no invariant is breached" }),
    checked_at: z.string().openapi({ example: "2026-11-29T03:00:00.000Z" }),
    breaches: z.array(
      z.object({
        invariant: z.enum(LEDGER_INVARIANTS),
        detail: z.string().openapi({ example: "1 unbalanced transactions: txn_… (3 entries, sum 5)" }),
      }),
    ),
  })
  .openapi("LedgerCheck");

const check = createRoute({
  method: "get",
  path: "/check",
  operationId: "checkLedger",
  tags: ["Admin"],
  summary: "Verify the ledger's invariants now",
  description:
    "Staff with the `ledger:read` permission; read only. Runs the same check as the nightly job: global sum zero, balanced transactions, cached balances, floors, clearing windows, settlements and payouts. Answers 200 with the breaches found; `ok` tells whether there were any.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("ledger:read")] as const,
  responses: {
    200: jsonContent(LedgerCheckSchema, "The report"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

export const adminLedgerRoutes = createRouter().openapi(check, async (c) => {
  return c.json(await checkLedger(c.get("ctx")), 200);
});
