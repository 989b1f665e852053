import { and, eq, gt, isNull, min, or, sql } from "drizzle-orm";
import { payments } from "../../db/schema";
import type { ServiceContext } from "../context";
import { rateLimited } from "./rate-limit";

/** A driver may hold this many unpaid, unexpired credit top-up charges at once. */
export const MAX_PENDING_TOPUPS = 3;

/**
 * Refuses a new credit top-up with `429 rate_limited` while the driver already holds
 * `MAX_PENDING_TOPUPS` pending ones, each an Efí charge; `Retry-After` is when the first of them
 * lapses. A count in D1 rather than a counter: what frees a slot is a charge being paid or
 * expiring, which only the payments table knows. Read before the insert, so requests racing each
 * other can overshoot by the number in flight; each one is still a single charge.
 */
export async function assertTopupAllowed(ctx: ServiceContext, driverId: string): Promise<void> {
  const now = ctx.now();
  const at = now.toISOString();
  const pending = await ctx.db
    .select({ count: sql<number>`count(*)`, firstExpiry: min(payments.expiresAt) })
    .from(payments)
    .where(
      and(
        eq(payments.payerId, driverId),
        eq(payments.purpose, "credit_topup"),
        eq(payments.status, "pending"),
        or(isNull(payments.expiresAt), gt(payments.expiresAt, at)),
      ),
    )
    .get();
  if ((pending?.count ?? 0) < MAX_PENDING_TOPUPS) return;
  const lapse = pending?.firstExpiry ? Date.parse(pending.firstExpiry) : now.getTime() + 60_000;
  throw rateLimited(
    (lapse - now.getTime()) / 1000,
    `pending top-ups (at most ${MAX_PENDING_TOPUPS}); pay or let one expire first`,
  );
}
