import { describe, expect, it } from "vitest";
import { postings, registerWebhook } from "../efi-webhook-helpers";
import {
  cardPassenger,
  normalTrip,
  payAtSandbox,
  popCommission,
  quote,
  ridePayment,
  waitForPaymentStatus,
  walletOf,
} from "../fee-helpers";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { onlineDriver, PAULISTA, requestRide, SE } from "../ride-helpers";

// A cash ride and a card ride from quote to payment, through the HTTP API and the Efí sandbox,
// each ending with the driver's wallet showing their part and every ledger invariant holding.
// A normal trip is charged its quote: the assertions use the quote, never figures the driver sent.

const TRIP = { pickup: SE, dropoff: PAULISTA, category: "pop" };
const TOPUP_CENTS = 5000;

/** The driver buys prepaid credit by Pix: the charge is paid at the sandbox, Efí's webhook credits it. */
async function topUp(driver: TestUser, amountCents: number) {
  const reply = await call("POST", "/v1/wallet/credit/topups", {
    token: driver.accessToken,
    headers: { "idempotency-key": unique() },
    body: { amount_cents: amountCents },
  });
  expect(reply.status, reply.text).toBe(201);
  await payAtSandbox(reply.json.pix.txid);
  await waitForPaymentStatus(
    () => call("GET", `/v1/payments/${reply.json.id}`, { token: driver.accessToken }),
    "paid",
  );
}

describe("a cash ride, end to end", { timeout: 120_000 }, () => {
  it("takes the commission from the driver's prepaid credit, and the passenger pays the quote", async () => {
    await registerWebhook();
    const driver = await onlineDriver();
    await topUp(driver, TOPUP_CENTS);
    expect(await walletOf(driver)).toMatchObject({ credit_cents: TOPUP_CENTS, pending_cents: 0 });

    const passenger = await registerUser("passenger");
    const quoted = await quote(passenger, TRIP);
    const requested = await requestRide(passenger, { payment_method: "cash", quote_id: quoted.quote_id });
    expect(requested.status, requested.text).toBe(201);
    expect(requested.json.estimated_fare_cents).toBe(quoted.estimated_fare_cents);

    const completed = await normalTrip(driver, requested.json);

    const fare = quoted.estimated_fare_cents as number;
    expect(completed).toMatchObject({ status: "completed", final_fare_cents: fare });
    // The passenger paid the driver in cash; the platform's part came out of the driver's credit.
    expect(await walletOf(driver)).toMatchObject({
      credit_cents: TOPUP_CENTS - popCommission(fare),
      pending_cents: 0,
      available_cents: 0,
    });
    expect(await postings(`ride:${requested.json.id}:cash_commission`)).toBe(1);
    expectProblem(await ridePayment(passenger, requested.json.id), 404, "payment_not_found");
    await expectLedgerConsistent();
  });
});

describe("a card ride, end to end", { timeout: 120_000 }, () => {
  it("charges the quote on the card at completion and credits the driver's share once", async () => {
    const passenger = await cardPassenger();
    const driver = await onlineDriver();
    const quoted = await quote(passenger, TRIP);
    const requested = await requestRide(passenger, { payment_method: "card", quote_id: quoted.quote_id });
    expect(requested.status, requested.text).toBe(201);

    const completed = await normalTrip(driver, requested.json);

    const fare = quoted.estimated_fare_cents as number;
    expect(completed).toMatchObject({ status: "completed", final_fare_cents: fare });
    const payment = await ridePayment(passenger, requested.json.id);
    expect(payment.json).toMatchObject({ method: "card", status: "paid", amount_cents: fare });
    const share = fare - popCommission(fare);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: share, credit_cents: 0 });
    expect(await postings(`ride:${requested.json.id}:payment`)).toBe(1);

    // Retrying the paid payment charges nothing again.
    const retried = await call("POST", `/v1/rides/${requested.json.id}/payment/retry`, {
      token: passenger.accessToken,
      headers: { "idempotency-key": unique() },
      body: {},
    });
    expectProblem(retried, 409, "payment_not_retryable");
    expect(await walletOf(driver)).toMatchObject({ pending_cents: share });
    await expectLedgerConsistent();
  });
});
