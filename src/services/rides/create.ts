import { and, eq, inArray } from "drizzle-orm";
import { batchNamed } from "../../db/named-batch";
import { DRIVER_ACTIVE_STATUSES, type PaymentMethod, rides } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { nearbyFreeAt } from "../dispatch/candidates";
import { cardOnFileQuery } from "../payments/card/on-file";
import {
  assertNoOutstandingFee,
  outstandingFeesOf,
  outstandingFeesQuery,
} from "../payments/outstanding-fees";
import { type PricedTrip, priceFrom, pricingReads } from "../pricing/fares";
import type { Claim, PendingClaim } from "../requests/idempotency";
import { rideOrThrow } from "./room";
import type { RideRow } from "./state";
import { type RideView, rideView } from "./view";

export interface RideRequest {
  pickup: LatLng;
  dropoff: LatLng;
  category: string;
  payment_method: PaymentMethod;
  quote_id?: string;
}

export interface CreateOptions {
  /** The request's `Idempotency-Key`, claimed in the batch of reads and completed with the ride. */
  claim?: PendingClaim;
  /** Runs once the request is known not to be a replay and before any gate (the rate limit). */
  admit?: () => Promise<void>;
}

export type CreateOutcome =
  | { kind: "created"; ride: RideView }
  | { kind: "replay"; reply: Extract<Claim, { kind: "replay" }> };

/**
 * Prices and validates a ride request, then hands it to its RideRoom, which records it. Two D1
 * round trips in all (from Brazil each is an ocean crossing): one batch claims the idempotency
 * key and reads everything the gates need (an active ride, unpaid fees, a card on file, the
 * price's cities, rule and quote); the room's one batch writes the ride, its first event and the
 * stored reply. The gates' refusals keep their order of precedence.
 */
export async function createRide(
  ctx: ServiceContext,
  passengerId: string,
  input: RideRequest,
  options: CreateOptions = {},
): Promise<CreateOutcome> {
  const { claim } = options;
  // The driver indexes answer while D1 does (they are Durable Objects near the Worker): the room
  // then puts the first offers in its batch without asking them again. A refused request wasted
  // one in-memory read; if they fail, the room asks them itself.
  const nearby = nearbyFreeAt(ctx, input.pickup, input.category).catch(() => undefined);
  const claimReads = claim?.statements(ctx);
  const reads = await batchNamed(ctx.db, {
    claimTake: claimReads?.take,
    claimCurrent: claimReads?.current,
    active: ctx.db
      .select({ id: rides.id })
      .from(rides)
      .where(
        and(
          eq(rides.passengerId, passengerId),
          inArray(rides.status, ["requested", ...DRIVER_ACTIVE_STATUSES]),
        ),
      )
      .limit(1),
    fees: outstandingFeesQuery(ctx, passengerId),
    card: input.payment_method === "card" ? cardOnFileQuery(ctx, passengerId) : undefined,
    ...pricingReads(ctx, passengerId, input),
  });
  if (claim) {
    const outcome = claim.settle({ take: reads.claimTake ?? [], current: reads.claimCurrent ?? [] });
    if (outcome.kind === "replay") return { kind: "replay", reply: outcome };
  }
  await options.admit?.();

  const activeRide = reads.active[0];
  if (activeRide) throw new ApiError("passenger_has_active_ride", `Ride ${activeRide.id} is still active`);
  assertNoOutstandingFee(outstandingFeesOf(reads.fees));
  const priced = await priceFrom(ctx, input, reads);
  if (!priced.city.paymentMethods.includes(input.payment_method)) {
    throw new ApiError(
      "payment_method_not_offered",
      `${input.payment_method} is not offered in ${priced.city.name}`,
    );
  }
  if (input.payment_method === "card" && (reads.card ?? []).length === 0) {
    throw new ApiError("card_required", "Add a card before requesting a ride paid by card");
  }

  const row = newRideRow(ctx, passengerId, input, priced);
  const view = rideView(row);
  const body = JSON.stringify(view);
  const result = await ctx
    .rideRoom(row.id)
    .create(row, claim ? { ref: claim.ref, status: 201, body } : undefined, await nearby);
  const created = rideOrThrow(result);
  if (claim && result.ok && result.replyStored) claim.storedWith(201, body);
  ctx.metrics.record({
    event: "ride_transition",
    action: "create",
    status: "requested",
    category: row.category,
  });
  return { kind: "created", ride: rideView(created) };
}

function newRideRow(
  ctx: ServiceContext,
  passengerId: string,
  input: RideRequest,
  priced: PricedTrip,
): RideRow {
  const now = ctx.now();
  const at = now.toISOString();
  return {
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
    driverReportedDistanceM: null,
    driverReportedDurationS: null,
    fareReview: null,
    endedEarlyAt: null,
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
    expiredReason: null,
    updatedAt: at,
    surgeMultiplierBp: priced.rule.surgeMultiplierBp,
  };
}
