import { businessDateOf } from "../lib/business-days";
import type { ServiceContext } from "../services/context";
import { sendExpiryNotices, suspendExpiredDrivers } from "../services/drivers/onboarding-expiry";

export interface DriverDocumentsReport {
  /** The São Paulo date the run judged by: a document is valid through its expiry date. */
  today: string;
  suspended: number;
  notices: number;
}

/**
 * The daily documents step (nightly, at midnight in São Paulo): suspend approved drivers whose
 * documents expired before today, then send the 30/7/1-day notices. Both are safe to run twice.
 */
export async function runDriverDocuments(ctx: ServiceContext, at: Date): Promise<DriverDocumentsReport> {
  const today = businessDateOf(at);
  const suspended = await suspendExpiredDrivers(ctx, today);
  const notices = await sendExpiryNotices(ctx, today);
  ctx.log.info("cron.driver_documents.done", { today, suspended, notices });
  return { today, suspended, notices };
}
