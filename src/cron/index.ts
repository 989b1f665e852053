import { createServiceContext } from "../composition";
import { expireStaleCharges } from "../services/payments/expiry";
import { runReconcile } from "../services/reconcile/run";
import { runNightly } from "./nightly";

/** Cron expressions as in wrangler.toml (UTC): 03:00 UTC is midnight in São Paulo. */
export const CRONS = {
  nightly: "0 3 * * *",
  /** Lapsed pending Pix charges → expired (expireStaleCharges). */
  paymentExpiry: "*/10 * * * *",
  /** What is still undecided is asked of Efí (runReconcile). */
  reconcile: "*/5 * * * *",
} as const;

/** The Worker's `scheduled` entry point, routed by the cron expression that fired. */
export async function handleScheduled(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const ctx = createServiceContext(env);
  switch (controller.cron) {
    case CRONS.nightly:
      await runNightly(ctx, controller.scheduledTime);
      return;
    case CRONS.paymentExpiry: {
      // As of the scheduled time: a late run expires nothing that was not due when it fired.
      const report = await expireStaleCharges(ctx, { now: new Date(controller.scheduledTime) });
      ctx.log.info("cron.payment_expiry.done", { ...report });
      return;
    }
    case CRONS.reconcile:
      await runReconcile(ctx, { now: new Date(controller.scheduledTime) });
      return;
    default:
      ctx.log.error("cron.unknown", { cron: controller.cron, scheduled_time: controller.scheduledTime });
  }
}
