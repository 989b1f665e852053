import { payments } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import type { RideView } from "../rides/view";
import { amountDue, type ChargeableRide } from "./amount-due";
import { chargeCardRide } from "./card/charge";
import { ensureCharge } from "./pix-charge";
import { type PaymentRow, ridePaymentRow } from "./rows";

/** What starting a ride's payment needs to know of the ride. */
type PayableRide = ChargeableRide & Pick<RideView, "passenger_id">;

/**
 * Starts the payment of a ride that just completed, by its payment method: Pix creates the
 * payment and its charge and sends the passenger the QR (`payment.qr_generated`); card charges
 * the passenger's card (`chargeCardRide`); cash was settled at completion (nothing to do).
 * Throws if the provider fails; the caller (completeRide) logs it and the completion stands:
 * reading the payment later creates what is missing.
 */
export async function startRidePayment(ctx: ServiceContext, ride: RideView): Promise<void> {
  switch (ride.payment_method) {
    case "pix":
      await startPixRidePayment(ctx, ride);
      return;
    case "card":
      await chargeCardRide(ctx, ride);
      return;
    case "cash":
      return;
  }
}

/**
 * The Pix payment of a completed ride (its fare) or of a cancelled ride's fee (`amountDue`),
 * created once (the partial unique index on `ride_id` turns a second insert into a no-op), with
 * its charge. Returns the row; throws `EfiError` if the charge could not be created, leaving the
 * row pending without a charge.
 */
export async function startPixRidePayment(ctx: ServiceContext, ride: PayableRide): Promise<PaymentRow> {
  const amountCents = amountDue(ride);
  if (amountCents === null) {
    throw new Error(
      `ride ${ride.id} is ${ride.status} with fare ${ride.final_fare_cents} and fee ${ride.cancellation_fee_cents}: nothing to charge`,
    );
  }
  const now = ctx.now();
  const at = now.toISOString();
  await ctx.db
    .insert(payments)
    .values({
      id: newId("pay", now.getTime()),
      purpose: "ride",
      rideId: ride.id,
      payerId: ride.passenger_id,
      method: "pix",
      status: "pending",
      amountCents,
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoNothing()
    .run();
  const row = await ridePaymentRow(ctx, ride.id);
  if (!row) throw new Error(`payment of ride ${ride.id} was neither inserted nor found`);
  return ensureCharge(ctx, row);
}
