import { eq } from "drizzle-orm";
import { rides } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { healCharge, logChargeFailure } from "./pix-charge";
import { paymentRow, ridePaymentRow } from "./rows";
import { startPixRidePayment } from "./start";
import { type PaymentView, paymentView } from "./view";

/** The ride if the user is its passenger or its driver; 404 for anyone else. */
export async function rideOfParty(ctx: ServiceContext, user: AuthUser, rideId: string) {
  const ride = await ctx.db.select().from(rides).where(eq(rides.id, rideId)).get();
  if (!ride || (ride.passengerId !== user.id && ride.driverId !== user.id)) {
    throw new ApiError("not_found", "No such ride");
  }
  return ride;
}

/**
 * `GET /v1/rides/{id}/payment`, for the ride's passenger or driver. A completed Pix ride, or a
 * Pix or cash ride cancelled with a fee, whose payment or charge is missing (Efí failed at
 * completion or cancellation) gets it now.
 */
export async function getRidePayment(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
): Promise<PaymentView> {
  const ride = await rideOfParty(ctx, user, rideId);
  let row = await ridePaymentRow(ctx, ride.id);
  if (!row && paidByPix(ride)) {
    try {
      row = await startPixRidePayment(ctx, {
        id: ride.id,
        status: ride.status,
        payment_method: ride.paymentMethod,
        passenger_id: ride.passengerId,
        final_fare_cents: ride.finalFareCents,
        cancellation_fee_cents: ride.cancellationFeeCents,
      });
    } catch (error) {
      logChargeFailure(ctx, "payment.ride_start_failed", ride.id, error);
      row = await ridePaymentRow(ctx, ride.id);
    }
  } else if (row) {
    row = await healCharge(ctx, row);
  }
  if (!row) throw new ApiError("payment_not_found", "This ride has no payment");
  return paymentView(row, ctx.now());
}

/** A ride whose payment is a Pix charge: a completed Pix ride, a Pix or cash ride's cancellation fee. */
function paidByPix(ride: typeof rides.$inferSelect): boolean {
  if (ride.status === "completed") return ride.paymentMethod === "pix";
  return ride.status === "cancelled" && ride.paymentMethod !== "card" && (ride.cancellationFeeCents ?? 0) > 0;
}

/**
 * `GET /v1/payments/{id}`: a payment for its payer, or for a ride payment also the ride's driver.
 * Anyone else gets 404. A pending Pix payment without its charge gets it now.
 */
export async function getPayment(
  ctx: ServiceContext,
  user: AuthUser,
  paymentId: string,
): Promise<PaymentView> {
  const row = await paymentRow(ctx, paymentId);
  let visible = row?.payerId === user.id;
  if (row && !visible && row.rideId) {
    const ride = await ctx.db
      .select({ driverId: rides.driverId })
      .from(rides)
      .where(eq(rides.id, row.rideId))
      .get();
    visible = ride?.driverId === user.id;
  }
  if (!row || !visible) throw new ApiError("payment_not_found", "No such payment");
  return paymentView(await healCharge(ctx, row), ctx.now());
}
