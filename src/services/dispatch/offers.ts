import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { rideOffers, rides } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { RideRow } from "../rides/state";
import type { Candidate } from "./candidates";

export type OfferRow = typeof rideOffers.$inferSelect;

/**
 * Inserts the offers of one batch; returns the rows inserted. A driver already offered this ride,
 * or who took another open offer meanwhile (the one-open-offer-per-driver index), is skipped.
 * Those drivers' open offers past their window are closed first, so a room that has not yet
 * swept its own expired offers does not hold them back.
 */
export async function insertOffers(
  ctx: ServiceContext,
  ride: RideRow,
  candidates: Candidate[],
  batch: number,
  radiusM: number,
  now: Date,
): Promise<OfferRow[]> {
  if (candidates.length === 0) return [];
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + ctx.config.OFFER_TTL_SECONDS * 1000).toISOString();
  const [, inserted] = await ctx.db.batch([
    ctx.db
      .update(rideOffers)
      .set({ status: "expired", respondedAt: at })
      .where(
        and(
          inArray(
            rideOffers.driverId,
            candidates.map((c) => c.driverId),
          ),
          eq(rideOffers.status, "open"),
          lte(rideOffers.expiresAt, at),
        ),
      ),
    ctx.db
      .insert(rideOffers)
      .values(
        candidates.map((c) => ({
          rideId: ride.id,
          driverId: c.driverId,
          batch,
          radiusM,
          distanceM: c.distanceM,
          status: "open" as const,
          offeredAt: at,
          expiresAt,
        })),
      )
      .onConflictDoNothing()
      .returning(),
  ]);
  return inserted;
}

/**
 * The statements a step starts with, for its one batch: the ride's offers whose window has passed
 * are closed (answered), then the ones still open are read, soonest to close first.
 */
export function sweepStatements(ctx: ServiceContext, rideId: string, now: Date) {
  return { expired: expireDueOffers(ctx, rideId, now), open: openOffersOf(ctx, rideId, now) };
}

/** Closes the ride's open offers whose window has passed; returns them. */
function expireDueOffers(ctx: ServiceContext, rideId: string, now: Date) {
  const at = now.toISOString();
  return ctx.db
    .update(rideOffers)
    .set({ status: "expired", respondedAt: at })
    .where(and(eq(rideOffers.rideId, rideId), eq(rideOffers.status, "open"), lte(rideOffers.expiresAt, at)))
    .returning();
}

/** The ride's offers still open now, soonest to close first. */
export function openOffersOf(ctx: ServiceContext, rideId: string, now: Date) {
  return ctx.db
    .select()
    .from(rideOffers)
    .where(
      and(
        eq(rideOffers.rideId, rideId),
        eq(rideOffers.status, "open"),
        gt(rideOffers.expiresAt, now.toISOString()),
      ),
    )
    .orderBy(asc(rideOffers.expiresAt));
}

/**
 * The offer statements a ride transition carries, for the same D1 batch as its guarded update;
 * each applies only if that update happened (the ride is at the new seq). Accepting marks the
 * driver's offer accepted (a driver who accepted without an offer gets an accepted row, so a
 * re-dispatch never offers him the ride) and withdraws the others; expiring or cancelling a
 * requested ride withdraws its open offers. The last statement, when any, returns the withdrawn
 * offers' drivers.
 */
export function offerTransitionStatements(
  ctx: ServiceContext,
  before: RideRow,
  after: RideRow,
): BatchItem<"sqlite">[] {
  if (before.status !== "requested" || after.status === "requested") return [];
  const at = after.updatedAt;
  const applied = sql`EXISTS (SELECT 1 FROM ${rides} WHERE ${rides.id} = ${after.id} AND ${rides.lastSeq} = ${after.lastSeq})`;
  const withdraw = ctx.db
    .update(rideOffers)
    .set({ status: "withdrawn", respondedAt: at })
    .where(and(eq(rideOffers.rideId, after.id), eq(rideOffers.status, "open"), applied))
    .returning({ driverId: rideOffers.driverId });
  if (after.status !== "accepted" || !after.driverId) return [withdraw];
  const accepted = ctx.db
    .insert(rideOffers)
    .select(
      ctx.db
        .select({
          rideId: rides.id,
          driverId: sql<string>`${after.driverId}`.as("driver_id"),
          batch: sql<number>`0`.as("batch"),
          radiusM: sql<number>`0`.as("radius_m"),
          distanceM: sql<number | null>`NULL`.as("distance_m"),
          status: sql<string>`'accepted'`.as("status"),
          offeredAt: sql<string>`${at}`.as("offered_at"),
          expiresAt: sql<string>`${at}`.as("expires_at"),
          respondedAt: sql<string>`${at}`.as("responded_at"),
        })
        .from(rides)
        .where(and(eq(rides.id, after.id), eq(rides.lastSeq, after.lastSeq))),
    )
    .onConflictDoUpdate({
      target: [rideOffers.rideId, rideOffers.driverId],
      set: { status: "accepted", respondedAt: at },
    });
  return [accepted, withdraw];
}
