import { and, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { auditLogs, DRIVER_ACTIVE_STATUSES, drivers } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import { INITIAL_ONBOARDING, type OnboardingState } from "./onboarding";

export interface OnboardingRow extends OnboardingState {
  exists: boolean;
  documentsExpireOn: string | null;
  changedAt: string | null;
  driverStatus: "offline" | "online";
  /** The registered vehicle's plate (normalised), which the CRLV must state. */
  vehiclePlate: string | null;
}

export async function readOnboarding(ctx: ServiceContext, driverId: string): Promise<OnboardingRow> {
  const row = await ctx.db
    .select({
      status: drivers.onboardingStatus,
      reason: drivers.onboardingReason,
      suspendedBy: drivers.suspendedBy,
      documentsExpireOn: drivers.documentsExpireOn,
      changedAt: drivers.onboardingChangedAt,
      driverStatus: drivers.status,
      vehiclePlate: drivers.vehiclePlate,
    })
    .from(drivers)
    .where(eq(drivers.userId, driverId))
    .get();
  if (!row) {
    return {
      ...INITIAL_ONBOARDING,
      exists: false,
      documentsExpireOn: null,
      changedAt: null,
      driverStatus: "offline",
      vehiclePlate: null,
    };
  }
  return { ...row, exists: true };
}

/** The driver's row, made empty (offline, no vehicle, pending documents) if it does not exist yet. */
export function ensureDriverRow(ctx: ServiceContext, driverId: string, now: string) {
  return ctx.db.insert(drivers).values({ userId: driverId, updatedAt: now }).onConflictDoNothing();
}

/**
 * The guarded update that moves a driver from `from` to `next`, stamped `stamp`: it changes
 * nothing if someone else moved the driver first. Statements batched with it are made
 * conditional on `appliedNow(stamp)`, so a lost race changes nothing at all.
 */
export function transitionStatement(
  ctx: ServiceContext,
  driverId: string,
  from: OnboardingState,
  next: OnboardingState,
  stamp: string,
  extra: SQLiteUpdateSetSource<typeof drivers> = {},
) {
  return ctx.db
    .update(drivers)
    .set({
      onboardingStatus: next.status,
      onboardingReason: next.reason,
      suspendedBy: next.suspendedBy,
      onboardingChangedAt: stamp,
      ...extra,
    })
    .where(and(eq(drivers.userId, driverId), eq(drivers.onboardingStatus, from.status)))
    .returning({ userId: drivers.userId });
}

/** True inside a batch once the transition stamped `stamp` has been written. */
export function appliedNow(driverId: string, stamp: string): SQL {
  return sql`EXISTS (SELECT 1 FROM drivers WHERE user_id = ${driverId} AND onboarding_changed_at = ${stamp})`;
}

/**
 * A unique stamp for one transition: the time (what `onboarding_changed_at` shows) and a random
 * suffix, so two transitions in one millisecond cannot satisfy each other's guard.
 */
export function transitionStamp(now: Date): string {
  return `${now.toISOString()}#${newId("aud", now.getTime()).slice(-6)}`;
}

/** The time part of a stamp. */
export const stampTime = (stamp: string | null) => (stamp ? (stamp.split("#")[0] ?? null) : null);

/** An audit row written only if the transition stamped `stamp` applied (same batch). */
export function conditionalAudit(
  ctx: ServiceContext,
  entry: { actorId: string | null; action: string; driverId: string; before: unknown; after: unknown },
  stamp: string,
) {
  const now = ctx.now();
  // Columns in the table's order: id, actor, action, target type and id, before, after, request,
  // reason, time.
  return ctx.db.insert(auditLogs).select(sql`
    SELECT ${newId("aud", now.getTime())}, ${entry.actorId}, ${entry.action}, 'driver', ${entry.driverId},
           ${JSON.stringify(entry.before)}, ${JSON.stringify(entry.after)}, ${ctx.requestId}, NULL, ${now.toISOString()}
     WHERE ${appliedNow(entry.driverId, stamp)}`);
}

/**
 * The driver's new `status` when he may no longer drive: offline at once, unless he is on a ride,
 * which he finishes; when it ends, a trigger on `rides` takes him offline (migration
 * suspension_after_ride), so a suspension never ends a trip halfway.
 */
export function offlineUnlessOnRide(driverId: string): SQL {
  const active = sql.join(
    DRIVER_ACTIVE_STATUSES.map((s) => sql`${s}`),
    sql`, `,
  );
  return sql`CASE WHEN EXISTS (SELECT 1 FROM rides WHERE driver_id = ${driverId} AND status IN (${active})) THEN ${drivers.status} ELSE 'offline' END`;
}
