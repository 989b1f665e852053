import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { checkLedger } from "../../services/ledger/check";
import { LEDGER_INVARIANTS, LEDGER_WARNINGS } from "../../services/ledger/invariants";

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
    warnings: z
      .array(
        z.object({
          warning: z.enum(LEDGER_WARNINGS),
          detail: z.string().openapi({ example: "the holiday list ends on 2027-12-25; …" }),
        }),
      )
      .openapi({ description: "What will become a breach unless someone acts; does not affect `ok`" }),
  })
  .openapi("LedgerCheck");

const check = createRoute({
  method: "get",
  path: "/check",
  operationId: "checkLedger",
  tags: ["Admin"],
  summary: "Verify the ledger's invariants now",
  description:
    "Staff with the `ledger:read` permission; read only. Runs the same check as the nightly job: global sum zero, balanced transactions, cached balances, floors, clearing windows, settlements, payouts, payments and refunds against their postings, anything stuck too long, aged driver debt and credit floors. Answers 200 with the breaches found; `ok` tells whether there were any.",
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
