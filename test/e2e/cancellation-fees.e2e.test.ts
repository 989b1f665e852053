import { describe, expect, it } from "vitest";
import { sandboxControl } from "../efi-network";
import { postings, registerWebhook } from "../efi-webhook-helpers";
import {
  acceptedLongAgo,
  cardPassenger,
  driveTo,
  normalTrip,
  POP_FEE_CENTS,
  POP_FEE_SHARE_CENTS,
  payAtSandbox,
  quote,
  ridePayment,
  waitForPaymentStatus,
  walletOf,
} from "../fee-helpers";
import { expectProblem, registerUser, type TestUser } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { bearer, onlineDriver, openSocket, PAULISTA, postRide, requestRide, SE } from "../ride-helpers";

// The three ways a passenger's cancellation fee is collected, from the cancellation to the
// driver's wallet, through the HTTP API and the Efí sandbox (its webhooks come back through our
// own route and payments queue). Each ends with every ledger invariant holding.

const TRIP = { pickup: SE, dropoff: PAULISTA, category: "pop" };

/** A ride of `passenger` that a fresh driver accepted and reached, accepted past the grace period. */
async function lateCancellation(passenger: TestUser, payment_method: "pix" | "card" | "cash") {
  const requested = await requestRide(passenger, { payment_method });
  expect(requested.status, requested.text).toBe(201);
  const driver = await onlineDriver();
  await driveTo(driver, requested.json.id, ["accept", "arrive"]);
  await acceptedLongAgo(requested.json.id);
  const cancelled = await postRide(passenger.accessToken, requested.json.id, "cancel", {
    reason: "changed my mind",
  });
  expect(cancelled.status, cancelled.text).toBe(200);
  expect(cancelled.json).toMatchObject({
    status: "cancelled",
    cancelled_by: "passenger",
    cancellation_fee_cents: POP_FEE_CENTS,
  });
  return { driver, rideId: requested.json.id as string };
}

describe("cancellation fees, end to end", { timeout: 120_000 }, () => {
  it("card: the fee is charged on the card at the cancellation and the driver gets the share", async () => {
    const passenger = await cardPassenger();

    const { driver, rideId } = await lateCancellation(passenger, "card");

    expect((await ridePayment(passenger, rideId)).json).toMatchObject({
      method: "card",
      status: "paid",
      amount_cents: POP_FEE_CENTS,
    });
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    expect((await quote(passenger, TRIP)).outstanding_fee_cents).toBe(0);
    await expectLedgerConsistent();
  });

  it("Pix: a charge for the fee is issued, paid at the bank, confirmed by Efí's webhook once", async () => {
    await registerWebhook();
    const passenger = await registerUser("passenger");
    const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));

    const { driver, rideId } = await lateCancellation(passenger, "pix");

    const qr = await channel.next((m) => m.type === "payment.qr_generated", 10_000);
    expect(qr.data).toMatchObject({ ride_id: rideId, amount_cents: POP_FEE_CENTS });
    const payment = await ridePayment(passenger, rideId);
    expect(payment.json).toMatchObject({ method: "pix", status: "pending", amount_cents: POP_FEE_CENTS });
    expect(payment.json.pix.txid).toBe(qr.data.txid);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: 0 });

    await payAtSandbox(payment.json.pix.txid);
    await waitForPaymentStatus(() => ridePayment(passenger, rideId), "paid");
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });

    // Efí sends the notification again: nothing moves twice.
    const e2eId = (await ridePayment(passenger, rideId)).json.pix.end_to_end_id as string;
    await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2eId] });
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });
    await expectLedgerConsistent();
  });

  it("cash: the fee is a debt shown on the quote that must be paid by Pix before the next ride", async () => {
    await registerWebhook();
    const passenger = await registerUser("passenger");

    const { driver, rideId } = await lateCancellation(passenger, "cash");

    // No cash changed hands: nothing is posted, and the passenger owes the fee.
    expect(await postings(`ride:${rideId}:payment`)).toBe(0);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: 0, credit_cents: 0 });
    const owed = await quote(passenger, TRIP);
    expect(owed).toMatchObject({ outstanding_fee_cents: POP_FEE_CENTS, outstanding_fee_ride_ids: [rideId] });
    expectProblem(
      await requestRide(passenger, { payment_method: "cash", quote_id: owed.quote_id }),
      409,
      "outstanding_cancellation_fee",
    );

    // The debt is the cancelled ride's payment: a Pix charge for the fee.
    const payment = await ridePayment(passenger, rideId);
    expect(payment.json).toMatchObject({ method: "pix", status: "pending", amount_cents: POP_FEE_CENTS });
    await payAtSandbox(payment.json.pix.txid);
    await waitForPaymentStatus(() => ridePayment(passenger, rideId), "paid");
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });

    // Paid: the next ride may be requested, and it runs as any cash ride.
    const quoted = await quote(passenger, TRIP);
    expect(quoted).toMatchObject({ outstanding_fee_cents: 0, outstanding_fee_ride_ids: [] });
    const next = await requestRide(passenger, { payment_method: "cash", quote_id: quoted.quote_id });
    expect(next.status, next.text).toBe(201);
    const completed = await normalTrip(await onlineDriver(), next.json);
    expect(completed).toMatchObject({ status: "completed", final_fare_cents: quoted.estimated_fare_cents });
    await expectLedgerConsistent();
  });
});
