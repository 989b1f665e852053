import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drivers, rideOffers, rides, users } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { RideRow } from "../rides/state";
import { eligibleSql, type Reach } from "./candidates";

export type OfferRow = typeof rideOffers.$inferSelect;

/**
 * The statements that offer the ride to its next batch, for a step's one D1 batch (or the batch
 * that records the ride): the reached drivers' open offers past their window are closed first, so
 * a room that has not yet swept its own does not hold them back; then which of them D1 finds
 * eligible (`eligible`: whether anybody was, when nothing is offered); then the offers
 * (`offered`): the eligible drivers within the smallest radius step that holds any of them,
 * nearest first, at most DISPATCH_BATCH_SIZE, open for OFFER_TTL_SECONDS. Nothing is offered while
 * the ride has an offer still in its window or is no longer requested; a driver who took another
 * open offer meanwhile (the one-open-offer-per-driver index) is skipped.
 */
export function offerStatements(
  ctx: ServiceContext,
  ride: RideRow,
  reach: Reach[],
  batch: number,
  now: Date,
) {
  if (reach.length === 0) return {};
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + ctx.config.OFFER_TTL_SECONDS * 1000).toISOString();
  // One JSON parameter, whatever the number of drivers (D1 binds at most 100 parameters).
  const list = JSON.stringify(reach.map((r) => ({ id: r.driverId, d: r.distanceM, r: r.radiusM })));
  const reachedIds = sql`(SELECT json_extract(value, '$.id') FROM json_each(${list}))`;
  // The list drives both reads (CROSS JOIN fixes SQLite's join order): left to itself, the planner
  // walks every online driver through the status index and reads the list for each, so a ride's
  // offers would read the whole online fleet. This way each reached driver is one key lookup.
  const reached = sql`json_each(${list}) AS j`;
  const isReached = sql`${drivers.userId} = json_extract(j.value, '$.id')`;
  const eligible = ctx.db
    .select({
      driverId: drivers.userId,
      distanceM: sql<number>`json_extract(j.value, '$.d')`.as("distance_m"),
      radiusM: sql<number>`json_extract(j.value, '$.r')`.as("radius_m"),
      rank: sql<number>`j.key`.as("rank"),
      nearestRadiusM: sql<number>`min(json_extract(j.value, '$.r')) OVER ()`.as("nearest_radius_m"),
    })
    .from(reached)
    .crossJoin(drivers)
    .innerJoin(users, eq(users.id, drivers.userId))
    .where(and(isReached, eligibleSql(ride, at)))
    .as("eligible");
  return {
    lapsed: ctx.db
      .update(rideOffers)
      .set({ status: "expired", respondedAt: at })
      .where(
        and(
          sql`${rideOffers.driverId} IN ${reachedIds}`,
          eq(rideOffers.status, "open"),
          lte(rideOffers.expiresAt, at),
        ),
      ),
    // One row is enough for "anybody?", and spares SQLite checking every other reached driver.
    eligible: ctx.db
      .select({ driverId: drivers.userId })
      .from(reached)
      .crossJoin(drivers)
      .innerJoin(users, eq(users.id, drivers.userId))
      .where(and(isReached, eligibleSql(ride, at)))
      .limit(1),
    // The columns in the table's order: an INSERT ... SELECT fills them all.
    offered: ctx.db
      .insert(rideOffers)
      .select(
        ctx.db
          .select({
            rideId: sql<string>`${ride.id}`.as("ride_id"),
            driverId: eligible.driverId,
            batch: sql<number>`${batch}`.as("batch"),
            radiusM: eligible.radiusM,
            distanceM: eligible.distanceM,
            status: sql<string>`'open'`.as("status"),
            offeredAt: sql<string>`${at}`.as("offered_at"),
            expiresAt: sql<string>`${expiresAt}`.as("expires_at"),
            respondedAt: sql<string | null>`NULL`.as("responded_at"),
          })
          .from(eligible)
          .where(
            and(
              sql`${eligible.radiusM} = ${eligible.nearestRadiusM}`,
              sql`EXISTS (SELECT 1 FROM ${rides} WHERE ${rides.id} = ${ride.id} AND ${rides.status} = 'requested')`,
              sql`NOT EXISTS (SELECT 1 FROM ride_offers w WHERE w.ride_id = ${ride.id}
                              AND w.status = 'open' AND w.expires_at > ${at})`,
            ),
          )
          .orderBy(sql`${eligible.rank}`)
          .limit(ctx.config.DISPATCH_BATCH_SIZE),
      )
      .onConflictDoNothing()
      .returning(),
  };
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
