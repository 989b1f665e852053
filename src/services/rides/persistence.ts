import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { batchNamed, type NamedResults } from "../../db/named-batch";
import { drivers, rideEvents, rides } from "../../db/schema";
import { isUniqueViolation } from "../../lib/db-errors";
import type { ProblemCode } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { offerTransitionStatements } from "../dispatch/offers";
import { accountId, driverAccount } from "../ledger/accounts";
import { isDivergedTransitionError, transitionStatements } from "../ledger/ride-postings";
import { completionStatement } from "../requests/idempotency";
import { creditFloorSql, creditStandingIn } from "./credit-floor";
import type { StoredReply } from "./room";
import type { RideEventType, RideRow } from "./state";
import { rideView } from "./view";

type Refusal = { ok: false; code: ProblemCode; detail: string };

/**
 * Called by the RideRoom: the ride row and its first event, in one batch, with the request's
 * idempotency record completed in it when `reply` is given (so storing it costs no round trip),
 * and `after`'s statements last (the first dispatch step's offers), answered by name.
 */
export async function insertRide<T extends Record<string, BatchItem<"sqlite"> | undefined>>(
  ctx: ServiceContext,
  row: RideRow,
  reply?: StoredReply,
  after?: T,
): Promise<{ ok: true; after: NamedResults<T> } | Refusal> {
  try {
    const results = await batchNamed(ctx.db, {
      ride: ctx.db.insert(rides).values(row),
      event: ctx.db.insert(rideEvents).values({
        rideId: row.id,
        seq: row.lastSeq,
        type: "ride.created",
        actorId: row.passengerId,
        data: JSON.stringify(rideView(row)),
        at: row.createdAt,
      }),
      reply: reply ? completionStatement(ctx, reply.ref, reply.status, reply.body) : undefined,
      ...(after ?? ({} as T)),
    });
    return { ok: true, after: results as NamedResults<T> };
  } catch (error) {
    if (isUniqueViolation(error, "rides.passenger_id")) {
      return { ok: false, code: "passenger_has_active_ride", detail: "You already have an active ride" };
    }
    throw error;
  }
}

/**
 * Called by the RideRoom: writes a transition to D1 with a guard on the status and sequence it
 * was decided from, and appends its event only if that update happened, all in one batch. The
 * unique partial index refuses a second active ride for the driver. The ledger postings the
 * transition carries (a cash ride's commission at completion) are in the same batch, and refuse
 * it whole if the guarded update did not happen. So are the ride's offers (accepted, withdrawn):
 * the answer names the drivers whose open offer the transition withdrew.
 */
export async function persistTransition(
  ctx: ServiceContext,
  before: RideRow,
  after: RideRow,
  type: RideEventType,
  actorId: string | null,
): Promise<{ ok: true; withdrawn: string[] } | (Refusal & { diverged?: true })> {
  const { id, ...changes } = after;
  const data = JSON.stringify(rideView(after));
  const ledger = await transitionStatements(ctx, before, after);
  const offers = offerTransitionStatements(ctx, before, after);
  const diverged = () => {
    ctx.log.error("ride row diverged from its RideRoom", { ride_id: id, status: before.status });
    return {
      ok: false,
      code: "invalid_transition",
      detail: "The ride changed meanwhile; read it again",
      diverged: true,
    } as const;
  };
  try {
    const [updated, , ...rest] = await ctx.db.batch([
      ctx.db
        .update(rides)
        .set(changes)
        .where(
          and(
            eq(rides.id, id),
            eq(rides.status, before.status),
            eq(rides.lastSeq, before.lastSeq),
            acceptGuard(before, after),
          ),
        )
        .returning({ id: rides.id }),
      // Appended only if the guarded update above happened: it selects the row at its new seq.
      ctx.db.insert(rideEvents).select(
        ctx.db
          .select({
            rideId: rides.id,
            seq: rides.lastSeq,
            type: sql<string>`${type}`.as("type"),
            actorId: sql<string | null>`${actorId}`.as("actor_id"),
            data: sql<string>`${data}`.as("data"),
            at: rides.updatedAt,
          })
          .from(rides)
          .where(and(eq(rides.id, id), eq(rides.lastSeq, after.lastSeq))),
      ),
      ...offers,
      ...ledger,
    ]);
    if (updated.length === 0) return (await acceptRefusal(ctx, before, after)) ?? diverged();
    const withdrawn = offers.length > 0 ? (rest[offers.length - 1] as { driverId: string }[]) : [];
    return { ok: true, withdrawn: withdrawn.map((o) => o.driverId) };
  } catch (error) {
    if (isUniqueViolation(error, "rides.driver_id")) {
      return { ok: false, code: "driver_has_active_ride", detail: "Finish your current ride first" };
    }
    if (ledger.length > 0 && isDivergedTransitionError(error)) return diverged();
    // D1 already holds this seq: an earlier write landed but its reply never reached the room.
    if (isUniqueViolation(error, "ride_events.ride_id")) return diverged();
    throw error;
  }
}

/**
 * An accept is written only while D1 has the driver online and his prepaid credit not below the
 * floor of the ride's city (the stricter of the global and the city's): checked in the write
 * itself, so the winner of an accept makes this one batch and no read before it (his index said
 * online; D1, the system of record, has the last word).
 */
function acceptGuard(before: RideRow, after: RideRow) {
  if (before.status !== "requested" || after.status !== "accepted" || !after.driverId) return undefined;
  return sql`EXISTS (SELECT 1 FROM drivers WHERE user_id = ${after.driverId} AND status = 'online')
    AND COALESCE((SELECT balance FROM ledger_accounts WHERE id = ${accountId(driverAccount(after.driverId, "credit"))}), 0)
      >= ${creditFloorSql(after.cityId)}`;
}

/** An accept the guard refused, with the words accept has always used: offline, or credit. */
async function acceptRefusal(ctx: ServiceContext, before: RideRow, after: RideRow): Promise<Refusal | null> {
  if (!acceptGuard(before, after) || !after.driverId) return null;
  const [driver, credit] = await Promise.all([
    ctx.db.select({ status: drivers.status }).from(drivers).where(eq(drivers.userId, after.driverId)).get(),
    creditStandingIn(ctx, after.driverId, after.cityId),
  ]);
  if (driver?.status !== "online") {
    return { ok: false, code: "driver_offline", detail: "Go online before accepting rides" };
  }
  if (credit.mayAcceptRides) return null;
  return {
    ok: false,
    code: "driver_credit_insufficient",
    detail: `Your prepaid credit (${credit.creditCents} centavos) is below the floor of ${credit.floorCents}; top up to accept rides`,
  };
}

/** The ride as D1 has it, and its events after `afterSeq`: how a room catches up with D1. */
export async function rideFromDatabase(ctx: ServiceContext, rideId: string, afterSeq: number) {
  const [row, events] = await ctx.db.batch([
    ctx.db.select().from(rides).where(eq(rides.id, rideId)),
    ctx.db
      .select()
      .from(rideEvents)
      .where(and(eq(rideEvents.rideId, rideId), gt(rideEvents.seq, afterSeq)))
      .orderBy(asc(rideEvents.seq)),
  ]);
  return { row: row[0] ?? null, events };
}
