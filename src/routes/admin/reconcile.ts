import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { runReconcile } from "../../services/reconcile/run";

const ReportSchema = z
  .object({
    as_of: z.string().openapi({ example: "2026-11-30T18:00:00.000Z" }),
    steps: z.record(z.string(), z.record(z.string(), z.number().int())).openapi({
      description:
        "Per step (`unprocessed_items`, `pix_charges`, `statement`, `payouts`, `refunds`, `cards`), how many items ended how (`processed`, `flagged`, `skipped`, `retry`, `paid`, `failed`, …)",
    }),
    failed: z
      .array(z.object({ step: z.string(), error: z.string() }))
      .openapi({ description: "Steps that could not run (Efí unreachable): the others did" }),
  })
  .openapi("ReconcileReport");

const run = createRoute({
  method: "post",
  path: "/",
  operationId: "runReconcile",
  tags: ["Admin"],
  summary: "Reconcile with Efí now",
  description:
    "Staff with the `reconcile:run` permission (admin, finance). Runs the reconciler the cron runs every 5 minutes: stored webhook items never processed, Pix charges still pending (their `pix[]` read back), Efí's statement of received Pix since yesterday (unmatched or duplicate Pix are flagged, for `POST /v1/admin/pix/{e2e_id}/refund`), payouts in transit, refunds processing and undecided card charges, each asked of Efí once past its threshold and applied through the webhook's own code, so nothing posts twice. Takes no input; safe to run again.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("reconcile:run")] as const,
  responses: {
    200: jsonContent(ReportSchema, "What the run found and did"),
    // Any body is ignored, but /v1's guards still refuse one that is not JSON or too large.
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden"),
  },
});

export const adminReconcileRoutes = createRouter().openapi(run, async (c) =>
  c.json(await runReconcile(c.get("ctx")), 200),
);
