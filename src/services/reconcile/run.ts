import * as Sentry from "@sentry/cloudflare";
import type { ServiceContext } from "../context";
import {
  payoutsInTransit,
  pendingPixCharges,
  processingRefunds,
  type StepCounts,
  statement,
  undecidedCards,
  unprocessedItems,
} from "./steps";

// The reconciler: every few minutes (cron) and on demand (POST /v1/admin/reconcile), what we
// still hold as undecided is asked of Efí, and every answer goes through the webhook's code, so
// it posts once however often the reconciler and a late webhook both see it.

export interface ReconcileReport {
  as_of: string;
  /** Per step, how many items ended how (`processed`, `flagged`, `skipped`, `paid`, …). */
  steps: Record<string, StepCounts>;
  /** Steps that failed (Efí unreachable, D1): the others still ran. */
  failed: { step: string; error: string }[];
}

const STEPS = {
  unprocessed_items: unprocessedItems,
  pix_charges: pendingPixCharges,
  statement,
  payouts: payoutsInTransit,
  refunds: processingRefunds,
  cards: undecidedCards,
} as const;

/** Runs every step as of `now` (the cron's scheduled time); a failing step does not stop the others. */
export async function runReconcile(
  ctx: ServiceContext,
  options: { now?: Date } = {},
): Promise<ReconcileReport> {
  const now = options.now ?? ctx.now();
  const report: ReconcileReport = { as_of: now.toISOString(), steps: {}, failed: [] };
  for (const [name, step] of Object.entries(STEPS)) {
    try {
      report.steps[name] = await step(ctx, now);
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      report.failed.push({ step: name, error: detail.slice(0, 500) });
      ctx.log.error("reconcile.step_failed", { step: name, error: detail });
      Sentry.captureException(error);
    }
  }
  ctx.log.info("reconcile.done", {
    as_of: report.as_of,
    steps: JSON.stringify(report.steps),
    failed: report.failed.length,
  });
  return report;
}
