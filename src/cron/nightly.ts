import * as Sentry from "@sentry/cloudflare";
import { businessDateOf } from "../lib/business-days";
import { describeError } from "../queues/retry";
import { type EnqueueResult, enqueueDueSettlements } from "../queues/settlements";
import type { ServiceContext } from "../services/context";
import { checkLedger } from "../services/ledger/check";
import type { LedgerCheckReport } from "../services/ledger/invariants";
import { type PurgeReport, purgeExpired } from "../services/retention/purge";
import { type ClearingKind, type SweepOutcome, sweepClearing } from "../services/settlements/sweep";
import { type DriverDocumentsReport, runDriverDocuments } from "./driver-documents";

export interface NightlyReport {
  /** The São Paulo date that began at the scheduled time: what is due on it gets released. */
  businessDate: string;
  settlements: EnqueueResult | null;
  sweeps: Record<ClearingKind, SweepOutcome> | null;
  ledgerCheck: LedgerCheckReport | null;
  driverDocuments: DriverDocumentsReport | null;
  retention: PurgeReport | null;
}

/**
 * The nightly job, at 03:00 UTC = midnight in São Paulo. Each step is safe to run twice and
 * runs even if an earlier one failed; a failed step fails the run afterwards (Sentry, cron log).
 * 1. Settlements due on or before the business date are fanned out to the settlements queue,
 *    one message per page of 100 ids; the queue consumer releases them pending → available.
 * 2. Clearing accounts are swept into the platform's Efí balance (see CLEARING_SWEEPS).
 * 3. The ledger's invariants are checked; breaches are logged as errors.
 * 4. Drivers whose documents expired are suspended, and expiry notices are sent.
 * 5. Rows past their retention period are purged (src/services/retention/periods.ts).
 */
export async function runNightly(ctx: ServiceContext, scheduledTime: number | Date): Promise<NightlyReport> {
  const at = new Date(scheduledTime);
  const businessDate = businessDateOf(at);
  const failures: unknown[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (error) {
      ctx.log.error("cron.nightly.step_failed", {
        step: name,
        business_date: businessDate,
        error: describeError(error),
      });
      failures.push(error);
      return null;
    }
  };

  const settlements = await step("settlements", () => enqueueDueSettlements(ctx, businessDate));
  const sweeps = await step("clearing_sweep", () => sweepClearing(ctx, businessDate));

  // ---- Ledger invariant check (src/services/ledger-check.ts) -------------------------------
  // Runs after the sweep, as of the scheduled time, so clearing is judged once it was emptied.
  const ledgerCheck = await step("ledger_check", () => checkLedger(ctx, { now: at }));
  if (ledgerCheck && !ledgerCheck.ok) {
    for (const breach of ledgerCheck.breaches) {
      ctx.log.error("ledger.invariant_breached", {
        invariant: breach.invariant,
        detail: breach.detail.slice(0, 2000),
        business_date: businessDate,
      });
    }
    Sentry.captureMessage(`ledger check: ${ledgerCheck.breaches.length} breach(es)`, "error");
  }
  for (const warning of ledgerCheck?.warnings ?? []) {
    ctx.log.warn("ledger.check_warning", { warning: warning.warning, detail: warning.detail });
  }
  // -------------------------------------------------------------------------------------------

  const driverDocuments = await step("driver_documents", () => runDriverDocuments(ctx, at));
  const retention = await step("retention", () => purgeExpired(ctx, at));

  ctx.log.info("cron.nightly.done", {
    business_date: businessDate,
    release_pages: settlements?.pages,
    releases_enqueued: settlements?.settlements,
    continued_after: settlements?.continuedAfter,
    efi_clearing_sweep: sweeps?.efi_clearing.status,
    card_clearing_sweep: sweeps?.card_clearing.status,
    ledger_ok: ledgerCheck?.ok,
    drivers_suspended: driverDocuments?.suspended,
    expiry_notices: driverDocuments?.notices,
    failed_steps: failures.length,
  });
  if (failures.length > 0) {
    throw new AggregateError(failures, `nightly run for ${businessDate}: ${failures.length} step(s) failed`);
  }
  return { businessDate, settlements, sweeps, ledgerCheck, driverDocuments, retention };
}
