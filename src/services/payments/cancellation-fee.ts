import type { ServiceContext } from "../context";
import type { RideView } from "../rides/view";
import { amountDue } from "./amount-due";
import { attemptCharge, createCardRidePayment } from "./card/charge";
import { latestCard } from "./card/on-file";
import { startPixRidePayment } from "./start";

/**
 * Starts collecting the fee of a ride the passenger just cancelled, as the ride's one payment
 * (`purpose: ride`, amount = the fee): a card ride's fee is charged on the passenger's most
 * recent card, exactly as a fare is (same idempotency key, outcomes and retry); a Pix or cash
 * ride's fee gets a Pix charge, shown at `GET /v1/rides/{id}/payment` and confirmed by Efí's
 * webhook. The ledger moves only when the money is confirmed (`recordRidePayment`). A ride
 * without a fee does nothing; a second call finds the payment created and charges nothing.
 * Throws if Pix fails; the caller logs it and reading the payment later creates what is missing.
 */
export async function startCancellationFeePayment(ctx: ServiceContext, ride: RideView): Promise<void> {
  if (ride.status !== "cancelled") return;
  const feeCents = amountDue(ride);
  if (feeCents === null) return;
  if (ride.payment_method === "card") {
    const payment = await createCardRidePayment(ctx, ride.id, ride.passenger_id, feeCents);
    if (!payment) return;
    await attemptCharge(ctx, payment, await latestCard(ctx, ride.passenger_id));
    return;
  }
  await startPixRidePayment(ctx, ride);
}
