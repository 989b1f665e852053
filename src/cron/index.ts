import { createServiceContext } from "../lib/context";
import { runNightly } from "./nightly";

/** Cron expressions as in wrangler.toml (UTC): 03:00 UTC is midnight in São Paulo. */
export const CRONS = {
  nightly: "0 3 * * *",
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
    default:
      ctx.log.error("cron.unknown", { cron: controller.cron, scheduled_time: controller.scheduledTime });
  }
}
