import { eq } from "drizzle-orm";
import { drivers, rides } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { driverCreditStanding } from "../ledger/ride-postings";
import { startRidePayment } from "../payments/start";
import { finalFare, ruleById } from "../pricing/fares";
import { visibleRide } from "./queries";
import { type DriverLocation, rideOrThrow } from "./room";
import type { RideAction } from "./state";
import { type RideView, rideView } from "./view";

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

/** Forwards the assigned driver's position to the ride's room (no D1 write per ping). */
export async function rideLocation(
  ctx: ServiceContext,
  driverId: string,
  rideId: string,
  location: DriverLocation,
): Promise<void> {
  rideOrThrow(await ctx.rideRoom(rideId).driverLocation(driverId, location));
}

async function act(ctx: ServiceContext, rideId: string, action: RideAction): Promise<RideView> {
  return rideView(rideOrThrow(await ctx.rideRoom(rideId).act(action)));
}
