import { and, eq, inArray, lte } from "drizzle-orm";
import { payments } from "../../db/schema";
import type { ServiceContext } from "../context";

export interface ExpiryReport {
  expired: number;
  batches: number;
  /** True when the run stopped at `maxBatches` with more possibly left for the next run. */
  more: boolean;
}

/**
 * Marks pending Pix charges whose expiry is at or before `now` as `expired`, `batchSize` at a
 * time and at most `maxBatches` batches per run (the next run takes the rest). Each batch is one
 * guarded UPDATE (`status = 'pending' AND expires_at <= now`), so running it twice, or racing a
 * payment or a regeneration, changes nothing twice and never expires a paid or renewed charge.
 * Efí's cob is left alone: it keeps reading ATIVA and refuses payment once expired.
 */
export async function expireStaleCharges(
  ctx: ServiceContext,
  options: { now?: Date; batchSize?: number; maxBatches?: number } = {},
): Promise<ExpiryReport> {
  const now = (options.now ?? ctx.now()).toISOString();
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 25;
  let expired = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const due = ctx.db
      .select({ id: payments.id })
      .from(payments)
      .where(and(eq(payments.status, "pending"), lte(payments.expiresAt, now)))
      .limit(batchSize);
    const rows = await ctx.db
      .update(payments)
      .set({ status: "expired", updatedAt: now })
      .where(and(inArray(payments.id, due), eq(payments.status, "pending"), lte(payments.expiresAt, now)))
      .returning({ id: payments.id })
      .all();
    batches += 1;
    expired += rows.length;
    if (rows.length < batchSize) return { expired, batches, more: false };
  }
  return { expired, batches, more: true };
}
