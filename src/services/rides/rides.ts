import { and, asc, desc, eq, gt, inArray, lt, sql } from "drizzle-orm";
import {
  DRIVER_ACTIVE_STATUSES,
  drivers,
  type PaymentMethod,
  ratings,
  rideEvents,
  rides,
} from "../../db/schema";
import { isUniqueViolation } from "../../lib/db-errors";
import { cellOf, cellsWithin, type LatLng } from "../../lib/geo";
import { newId } from "../../lib/ids";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError, type ProblemCode } from "../../lib/problem";
import type { ActResult } from "../../objects/ride-room";
import type { AuthUser, ServiceContext } from "../context";
import type { WireEvent } from "../events/wire";
import {
  driverCreditStanding,
  isDivergedTransitionError,
  transitionStatements,
} from "../ledger/ride-postings";
import { hasCard } from "../payments/cards";
import { startRidePayment } from "../payments/pix";
import { finalFare, priceRide, ruleById } from "../pricing/fares";
import type { RideAction, RideEventType, RideRow } from "./state";

export interface RideRequest {
  pickup: LatLng;
  dropoff: LatLng;
  category: string;
  payment_method: PaymentMethod;
  quote_id?: string;
}

/** The API shape of a ride (API.md), plus the fields a client needs beyond them. */
export function rideView(row: RideRow) {
  return {
    id: row.id,
    status: row.status,
    passenger_id: row.passengerId,
    driver_id: row.driverId,
    category: row.category,
    pickup: { lat: row.pickupLat, lng: row.pickupLng },
    dropoff: { lat: row.dropoffLat, lng: row.dropoffLng },
    payment_method: row.paymentMethod,
    quote_id: row.quoteId,
    estimated_fare_cents: row.estimatedFareCents,
    estimated_distance_m: row.estimatedDistanceM,
    estimated_duration_s: row.estimatedDurationS,
    final_fare_cents: row.finalFareCents,
    distance_m: row.distanceM,
    duration_s: row.durationS,
    cancellation_fee_cents: row.cancellationFeeCents,
    cancelled_by: row.cancelledBy,
    cancel_reason: row.cancelReason,
    seq: row.lastSeq,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    accepted_at: row.acceptedAt,
    arrived_at: row.arrivedAt,
    started_at: row.startedAt,
    completed_at: row.completedAt,
    cancelled_at: row.cancelledAt,
    expired_at: row.expiredAt,
  };
}

export type RideView = ReturnType<typeof rideView>;

function roomOf(ctx: ServiceContext, rideId: string) {
  return ctx.env.RIDE_ROOM.get(ctx.env.RIDE_ROOM.idFromName(rideId), { locationHint: "sam" });
}

function unwrap(result: ActResult): RideRow {
  if (!result.ok) throw new ApiError(result.code, result.detail);
  return result.ride;
}

/** Prices and validates a ride request, then hands it to its RideRoom, which records it. */
export async function createRide(
  ctx: ServiceContext,
  passengerId: string,
  input: RideRequest,
): Promise<RideView> {
  const active = await ctx.db
    .select({ id: rides.id })
    .from(rides)
    .where(
      and(
        eq(rides.passengerId, passengerId),
        inArray(rides.status, ["requested", ...DRIVER_ACTIVE_STATUSES]),
      ),
    )
    .get();
  if (active) throw new ApiError("passenger_has_active_ride", `Ride ${active.id} is still active`);
  const priced = await priceRide(ctx, passengerId, input);
  if (!priced.city.paymentMethods.includes(input.payment_method)) {
    throw new ApiError(
      "payment_method_not_offered",
      `${input.payment_method} is not offered in ${priced.city.name}`,
    );
  }
  if (input.payment_method === "card" && !(await hasCard(ctx, passengerId))) {
    throw new ApiError("card_required", "Add a card before requesting a ride paid by card");
  }
  const now = ctx.now();
  const at = now.toISOString();
  const row: RideRow = {
    id: newId("ride", now.getTime()),
    status: "requested",
    passengerId,
    driverId: null,
    cityId: priced.city.id,
    category: input.category,
    paymentMethod: input.payment_method,
    pickupLat: input.pickup.lat,
    pickupLng: input.pickup.lng,
    pickupCell: cellOf(input.pickup),
    dropoffLat: input.dropoff.lat,
    dropoffLng: input.dropoff.lng,
    quoteId: priced.quote_id,
    pricingRuleId: priced.rule.id,
    estimatedFareCents: priced.estimated_fare_cents,
    estimatedDistanceM: priced.distance_m,
    estimatedDurationS: priced.duration_s,
    finalFareCents: null,
    distanceM: null,
    durationS: null,
    cancellationFeeCents: null,
    cancelledBy: null,
    cancelReason: null,
    lastSeq: 1,
    expiresAt: new Date(now.getTime() + ctx.config.RIDE_REQUEST_TTL_SECONDS * 1000).toISOString(),
    createdAt: at,
    acceptedAt: null,
    arrivedAt: null,
    startedAt: null,
    completedAt: null,
    cancelledAt: null,
    expiredAt: null,
    updatedAt: at,
  };
  return rideView(unwrap(await roomOf(ctx, row.id).create(row)));
}

/** Called by the RideRoom: the ride row and its first event, in one batch. */
export async function insertRide(
  ctx: ServiceContext,
  row: RideRow,
): Promise<{ ok: true } | { ok: false; code: ProblemCode; detail: string }> {
  try {
    await ctx.db.batch([
      ctx.db.insert(rides).values(row),
      ctx.db.insert(rideEvents).values({
        rideId: row.id,
        seq: row.lastSeq,
        type: "ride.created",
        actorId: row.passengerId,
        data: JSON.stringify(rideView(row)),
        at: row.createdAt,
      }),
    ]);
    return { ok: true };
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
 * it whole if the guarded update did not happen.
 */
export async function persistTransition(
  ctx: ServiceContext,
  before: RideRow,
  after: RideRow,
  type: RideEventType,
  actorId: string | null,
): Promise<{ ok: true } | { ok: false; code: ProblemCode; detail: string; diverged?: true }> {
  const { id, ...changes } = after;
  const data = JSON.stringify(rideView(after));
  const ledger = await transitionStatements(ctx, before, after);
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
    const [updated] = await ctx.db.batch([
      ctx.db
        .update(rides)
        .set(changes)
        .where(and(eq(rides.id, id), eq(rides.status, before.status), eq(rides.lastSeq, before.lastSeq)))
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
      ...ledger,
    ]);
    if (updated.length === 0) return diverged();
    return { ok: true };
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

/** What a nearby driver learns of a new ride: no passenger data (as GET /v1/rides/available). */
export function offerView(row: RideRow) {
  return {
    id: row.id,
    category: row.category,
    pickup: { lat: row.pickupLat, lng: row.pickupLng },
    dropoff: { lat: row.dropoffLat, lng: row.dropoffLng },
    payment_method: row.paymentMethod,
    estimated_fare_cents: row.estimatedFareCents,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
  };
}

/** Sends a new ride as an offer to the online drivers of its category around the pickup. */
export async function offerToNearbyDrivers(
  ctx: ServiceContext,
  row: RideRow,
  offer: WireEvent,
): Promise<void> {
  const nearby = await ctx.db
    .select({ userId: drivers.userId })
    .from(drivers)
    .where(
      and(
        eq(drivers.status, "online"),
        eq(drivers.vehicleCategory, row.category),
        inArray(
          drivers.lastCell,
          cellsWithin({ lat: row.pickupLat, lng: row.pickupLng }, ctx.config.NEARBY_RADIUS_M),
        ),
      ),
    )
    .limit(50)
    .all();
  await ctx.publish(offer, { users: nearby.map(({ userId }) => userId) });
}

/**
 * The ride as the caller may see it: its passenger, its driver, or (while it is on offer) any
 * driver. Anyone else gets 404, so ride ids reveal nothing.
 */
export async function visibleRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideRow> {
  const row = await ctx.db.select().from(rides).where(eq(rides.id, rideId)).get();
  const visible =
    row &&
    (row.passengerId === user.id ||
      row.driverId === user.id ||
      (user.role === "driver" && row.status === "requested"));
  if (!row || !visible) throw new ApiError("not_found", "No such ride");
  return row;
}

export async function getRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideView> {
  return rideView(await visibleRide(ctx, user, rideId));
}

export async function listRides(ctx: ServiceContext, user: AuthUser, page: PageQuery) {
  const owner = user.role === "driver" ? eq(rides.driverId, user.id) : eq(rides.passengerId, user.id);
  const rows = await ctx.db
    .select()
    .from(rides)
    .where(page.cursor ? and(owner, lt(rides.id, page.cursor)) : owner)
    .orderBy(desc(rides.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(rideView), next_cursor };
}

/**
 * A driver takes a ride: their vehicle must serve its category, they must be online, and their
 * prepaid credit must not be below the configured floor (cash commissions are taken from it; a
 * driver with no credit account has 0, above the floor). The floor is a gate read before the
 * RideRoom is asked, not a lock. Whether the ride is still on offer is the RideRoom's call
 * (`ride_already_accepted`, `ride_not_requested`).
 */
export async function acceptRide(ctx: ServiceContext, user: AuthUser, rideId: string): Promise<RideView> {
  const [row, driver, credit] = await Promise.all([
    ctx.db.select({ category: rides.category }).from(rides).where(eq(rides.id, rideId)).get(),
    ctx.db.select().from(drivers).where(eq(drivers.userId, user.id)).get(),
    driverCreditStanding(ctx, user.id),
  ]);
  if (!row) throw new ApiError("not_found", "No such ride");
  if (!driver?.vehicleCategory)
    throw new ApiError("vehicle_required", "Register a vehicle before accepting rides");
  if (driver.status !== "online") throw new ApiError("driver_offline", "Go online before accepting rides");
  if (driver.vehicleCategory !== row.category) {
    throw new ApiError(
      "vehicle_category_mismatch",
      `Your vehicle serves ${driver.vehicleCategory}, not ${row.category}`,
    );
  }
  if (!credit.mayAcceptRides) {
    throw new ApiError(
      "driver_credit_insufficient",
      `Your prepaid credit (${credit.creditCents} centavos) is below the floor of ${credit.floorCents}; top up to accept rides`,
    );
  }
  return act(ctx, rideId, { kind: "accept", driverId: user.id });
}

export async function driverStep(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  kind: "arrive" | "start",
): Promise<RideView> {
  await visibleRide(ctx, user, rideId);
  return act(ctx, rideId, { kind, driverId: user.id });
}

/**
 * Completes the trip. Distance and duration default to the estimate and the time since start;
 * the final fare is the ride's own pricing rule applied to them. Then the ride's payment starts
 * (a Pix charge, a card charge, nothing for cash); a provider failure is logged and never fails
 * the completion: reading the payment later creates what is missing.
 */
export async function completeRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  trip: { distance_m?: number; duration_s?: number },
): Promise<RideView> {
  const row = await visibleRide(ctx, user, rideId);
  if (row.driverId !== user.id) throw new ApiError("forbidden", "Only the assigned driver can do this");
  const elapsed = row.startedAt ? Math.round((ctx.now().getTime() - Date.parse(row.startedAt)) / 1000) : 0;
  const distanceM = trip.distance_m ?? row.estimatedDistanceM;
  const durationS = trip.duration_s ?? Math.max(elapsed, 0);
  const finalFareCents = await finalFare(ctx, row.pricingRuleId, {
    distance_m: distanceM,
    duration_s: durationS,
  });
  const ride = await act(ctx, rideId, {
    kind: "complete",
    driverId: user.id,
    distanceM,
    durationS,
    finalFareCents,
  });
  try {
    await startRidePayment(ctx, ride);
  } catch (error) {
    ctx.log.error("payment.start_failed", {
      ride_id: ride.id,
      payment_method: ride.payment_method,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
    });
  }
  return ride;
}

export async function cancelRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  reason: string,
): Promise<RideView> {
  const row = await visibleRide(ctx, user, rideId);
  if (user.role !== "passenger" && user.role !== "driver") throw new ApiError("forbidden");
  const rule = await ruleById(ctx, row.pricingRuleId);
  return act(ctx, rideId, {
    kind: "cancel",
    actor: { id: user.id, role: user.role },
    reason,
    feeCents: rule?.cancellationFeeCents ?? 0,
    graceSeconds: ctx.config.CANCELLATION_GRACE_SECONDS,
  });
}

async function act(ctx: ServiceContext, rideId: string, action: RideAction): Promise<RideView> {
  return rideView(unwrap(await roomOf(ctx, rideId).act(action)));
}

/** Forwards the assigned driver's position to the ride's room (no D1 write per ping). */
export async function rideLocation(
  ctx: ServiceContext,
  driverId: string,
  rideId: string,
  location: { lat: number; lng: number; heading?: number; speed?: number },
): Promise<void> {
  unwrap(await roomOf(ctx, rideId).driverLocation(driverId, location));
}

/** The driver's ride in progress or on its way, if any. */
export async function activeRideOfDriver(ctx: ServiceContext, driverId: string): Promise<string | null> {
  const row = await ctx.db
    .select({ id: rides.id })
    .from(rides)
    .where(and(eq(rides.driverId, driverId), inArray(rides.status, [...DRIVER_ACTIVE_STATUSES])))
    .get();
  return row?.id ?? null;
}

export async function rateRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  input: { stars: number; comment?: string },
) {
  const row = await visibleRide(ctx, user, rideId);
  if (row.status !== "completed")
    throw new ApiError("invalid_transition", "Only a completed ride can be rated");
  const rateeId = user.id === row.passengerId ? row.driverId : row.passengerId;
  if (!rateeId) throw new ApiError("invalid_transition", "This ride has nobody to rate");
  const createdAt = ctx.now().toISOString();
  const inserted = await ctx.db
    .insert(ratings)
    .values({
      rideId,
      raterId: user.id,
      rateeId,
      stars: input.stars,
      comment: input.comment ?? null,
      createdAt,
    })
    .onConflictDoNothing()
    .returning({ rideId: ratings.rideId })
    .get();
  if (!inserted) throw new ApiError("already_rated", "You already rated this ride");
  return {
    ride_id: rideId,
    rater_id: user.id,
    ratee_id: rateeId,
    stars: input.stars,
    comment: input.comment ?? null,
    created_at: createdAt,
  };
}
