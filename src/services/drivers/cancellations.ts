import { and, count, eq, gt, sql } from "drizzle-orm";
import { driverCancellations, drivers } from "../../db/schema";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { forgetIndexedDriver } from "./index-sync";

/**
 * Records that a driver gave back a ride he had accepted. The cancellation that reaches
 * `DRIVER_CANCEL_LIMIT` within the last `DRIVER_CANCEL_WINDOW_SECONDS` takes him offline and keeps
 * him from going online for `DRIVER_CANCEL_COOLDOWN_SECONDS`: the insert and that check are one
 * batch, so concurrent cancellations cannot slip past the count.
 */
export async function recordDriverCancellation(
  ctx: ServiceContext,
  driverId: string,
  rideId: string,
  reason: string,
): Promise<{ cooldownUntil: string | null }> {
  const now = ctx.now();
  const at = now.toISOString();
  const windowStart = new Date(now.getTime() - ctx.config.DRIVER_CANCEL_WINDOW_SECONDS * 1000).toISOString();
  const cooldownUntil = new Date(
    now.getTime() + ctx.config.DRIVER_CANCEL_COOLDOWN_SECONDS * 1000,
  ).toISOString();
  const recent = ctx.db
    .select({ n: count() })
    .from(driverCancellations)
    .where(and(eq(driverCancellations.driverId, driverId), gt(driverCancellations.at, windowStart)));
  const [, cooled] = await ctx.db.batch([
    ctx.db
      .insert(driverCancellations)
      .values({ id: newId("dcx", now.getTime()), driverId, rideId, reason, at }),
    ctx.db
      .update(drivers)
      .set({ status: "offline", cooldownUntil, updatedAt: at })
      .where(and(eq(drivers.userId, driverId), sql`(${recent}) >= ${ctx.config.DRIVER_CANCEL_LIMIT}`))
      .returning({ userId: drivers.userId }),
  ]);
  if (cooled.length === 0) return { cooldownUntil: null };
  await forgetIndexedDriver(ctx, driverId);
  ctx.log.info("driver.cancel_cooldown", { driver_id: driverId, until: cooldownUntil });
  return { cooldownUntil };
}

/** Refuses to let a driver in his cancellation cool-down go online: `409 driver_cooldown`. */
export async function assertNoCancelCooldown(ctx: ServiceContext, driverId: string): Promise<void> {
  const row = await ctx.db
    .select({ until: drivers.cooldownUntil })
    .from(drivers)
    .where(eq(drivers.userId, driverId))
    .get();
  const remainingMs = row?.until ? Date.parse(row.until) - ctx.now().getTime() : 0;
  if (remainingMs <= 0) return;
  const seconds = Math.ceil(remainingMs / 1000);
  throw new ApiError(
    "driver_cooldown",
    `You cancelled too many accepted rides; you can go online again in ${seconds} s`,
    { retryAfter: seconds },
  );
}
