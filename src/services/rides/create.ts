import { and, eq, inArray } from "drizzle-orm";
import { DRIVER_ACTIVE_STATUSES, type PaymentMethod, rides } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { hasCard } from "../payments/card/on-file";
import { assertNoOutstandingFee } from "../payments/outstanding-fees";
import { priceRide } from "../pricing/fares";
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

/**
 * Prices and validates a ride request, then hands it to its RideRoom, which records it. The three
 * gates (no active ride, no unpaid fee, the price) only read, so they go out together: one wait
 * for D1 instead of three (from Brazil each costs an ocean crossing). Their refusals keep that
 * order of precedence.
 */
export async function createRide(
  ctx: ServiceContext,
  passengerId: string,
  input: RideRequest,
): Promise<RideView> {
  const [active, fees, pricing] = await Promise.allSettled([
    ctx.db
      .select({ id: rides.id })
      .from(rides)
      .where(
        and(
          eq(rides.passengerId, passengerId),
          inArray(rides.status, ["requested", ...DRIVER_ACTIVE_STATUSES]),
        ),
      )
      .get(),
    assertNoOutstandingFee(ctx, passengerId),
    priceRide(ctx, passengerId, input),
  ]);
  const activeRide = settled(active);
  if (activeRide) throw new ApiError("passenger_has_active_ride", `Ride ${activeRide.id} is still active`);
  settled(fees);
  const priced = settled(pricing);
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
  };
  const created = rideOrThrow(await ctx.rideRoom(row.id).create(row));
  ctx.metrics.record({
    event: "ride_transition",
    action: "create",
    status: "requested",
    category: row.category,
  });
  return rideView(created);
}

/** The value of a settled promise, or its error thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}
