import type { RideView } from "../rides/view";

/** The fields of a ride that decide what its payment charges. */
export type ChargeableRide = Pick<
  RideView,
  "id" | "status" | "payment_method" | "final_fare_cents" | "cancellation_fee_cents"
>;

/**
 * What a ride's one payment (`purpose: ride`) charges, or null when there is nothing to charge:
 * a completed Pix or card ride its final fare (a completed cash ride was paid to the driver), a
 * cancelled ride with a fee that fee, whatever its payment method (no cash changes hands at a
 * cancellation, so a cash ride's fee is charged by Pix). The ledger (`recordRidePayment`)
 * accepts exactly these amounts.
 */
export function amountDue(ride: ChargeableRide): number | null {
  if (ride.status === "completed" && ride.payment_method !== "cash") {
    return ride.final_fare_cents && ride.final_fare_cents > 0 ? ride.final_fare_cents : null;
  }
  if (ride.status === "cancelled") {
    return ride.cancellation_fee_cents && ride.cancellation_fee_cents > 0
      ? ride.cancellation_fee_cents
      : null;
  }
  return null;
}
