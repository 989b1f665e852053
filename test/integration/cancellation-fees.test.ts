import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postings, registerWebhook } from "../efi-webhook-helpers";
import {
  acceptedLongAgo,
  approvingToken,
  cardPassenger,
  driveTo,
  POP_FEE_CENTS,
  POP_FEE_COMMISSION_CENTS,
  POP_FEE_SHARE_CENTS,
  quote,
  refusingToken,
  ridePayment,
  storeCard,
  walletOf,
} from "../fee-helpers";
import { call, expectProblem, registerUser, type TestUser } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { breakChargeCreation } from "../payment-helpers";
import {
  bearer,
  onlineDriver,
  openSocket,
  PAULISTA,
  postRide,
  requestRide,
  rideState,
  SE,
} from "../ride-helpers";

// Which cancellations cost, and how the fee is collected, through the HTTP API. The whole paths
// (paid by card, by Pix through Efí's webhook, a cash debt paid before the next ride) are in
// test/e2e/cancellation-fees.e2e.test.ts.

const TRIP = { pickup: SE, dropoff: PAULISTA, category: "pop" };

async function acceptedRide(passenger: TestUser, payment_method: "pix" | "card" | "cash") {
  const requested = await requestRide(passenger, { payment_method });
  expect(requested.status, requested.text).toBe(201);
  const driver = await onlineDriver();
  await driveTo(driver, requested.json.id, ["accept", "arrive"]);
  return { driver, rideId: requested.json.id as string };
}

async function cancel(passenger: TestUser, rideId: string, body: Record<string, unknown> = {}) {
  return postRide(passenger.accessToken, rideId, "cancel", { reason: "changed my mind", ...body });
}

async function paymentsOfRide(rideId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM payments WHERE ride_id = ?")
    .bind(rideId)
    .all<Record<string, any>>();
  return results;
}

async function entriesOfRide(rideId: string) {
  const { results } = await env.DB.prepare(
    `SELECT e.account_id, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      WHERE t.reference_type = 'ride' AND t.reference_id = ? ORDER BY e.account_id`,
  )
    .bind(rideId)
    .all<{ account_id: string; amount: number }>();
  return results;
}

async function ridesOf(passengerId: string): Promise<number> {
  return (
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM rides WHERE passenger_id = ?")
      .bind(passengerId)
      .first<number>("n")) ?? 0
  );
}

describe("which cancellations cost", () => {
  it("cancelling within the grace period costs nothing: no payment, nothing owed", async () => {
    const passenger = await registerUser("passenger");
    const { rideId } = await acceptedRide(passenger, "pix");

    const reply = await cancel(passenger, rideId);

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: 0 });
    expect(await paymentsOfRide(rideId)).toEqual([]);
    expectProblem(await ridePayment(passenger, rideId), 404, "payment_not_found");
    expect(await quote(passenger, TRIP)).toMatchObject({
      outstanding_fee_cents: 0,
      outstanding_fee_ride_ids: [],
    });
    expect((await requestRide(passenger)).status).toBe(201);
  });

  it("cancelling a ride nobody accepted costs nothing", async () => {
    const passenger = await registerUser("passenger");
    const requested = await requestRide(passenger);
    expect(requested.status, requested.text).toBe(201);

    const reply = await cancel(passenger, requested.json.id);

    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: 0 });
    expect(await paymentsOfRide(requested.json.id)).toEqual([]);
    expect((await quote(passenger, TRIP)).outstanding_fee_cents).toBe(0);
  });

  it("a fee the passenger names in the cancel request is ignored: the rule's fee is charged", async () => {
    await registerWebhook();
    const passenger = await registerUser("passenger");
    const { rideId } = await acceptedRide(passenger, "pix");
    await acceptedLongAgo(rideId);

    const reply = await cancel(passenger, rideId, { cancellation_fee_cents: 0, fee_cents: 0 });

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: POP_FEE_CENTS });
    const [payment] = await paymentsOfRide(rideId);
    expect(payment).toMatchObject({ purpose: "ride", method: "pix", amount_cents: POP_FEE_CENTS });
  });

  it("a driver's cancellation never charges the passenger", async () => {
    const passenger = await cardPassenger();
    const { driver, rideId } = await acceptedRide(passenger, "card");
    await acceptedLongAgo(rideId);

    const reply = await postRide(driver.accessToken, rideId, "cancel", { reason: "flat tyre" });

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.cancellation_fee_cents ?? 0).toBe(0);
    expect(await paymentsOfRide(rideId)).toEqual([]);
    expect(await entriesOfRide(rideId)).toEqual([]);
    expect((await quote(passenger, TRIP)).outstanding_fee_cents).toBe(0);
  });
});

describe("a card ride's fee", () => {
  it("is charged on the card after the grace period, split like a fare, and only once", async () => {
    const passenger = await cardPassenger();
    const { driver, rideId } = await acceptedRide(passenger, "card");
    await acceptedLongAgo(rideId);
    const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));

    const reply = await cancel(passenger, rideId);

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: POP_FEE_CENTS });
    const payment = await ridePayment(passenger, rideId);
    expect(payment.json).toMatchObject({
      purpose: "ride",
      method: "card",
      status: "paid",
      amount_cents: POP_FEE_CENTS,
    });
    expect(await channel.next((m) => m.type === "payment.confirmed")).toMatchObject({
      data: { status: "paid", amount_cents: POP_FEE_CENTS },
    });
    expect(await entriesOfRide(rideId)).toEqual([
      { account_id: `driver:${driver.id}:pending`, amount: -POP_FEE_SHARE_CENTS },
      { account_id: "platform:platform:card_clearing", amount: POP_FEE_CENTS },
      { account_id: "platform:platform:revenue", amount: -POP_FEE_COMMISSION_CENTS },
    ]);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });

    // Cancelling again, or retrying the paid payment, charges nothing more.
    const before = await rideState(rideId);
    expectProblem(await cancel(passenger, rideId), 409, "invalid_transition");
    expectProblem(
      await call("POST", `/v1/rides/${rideId}/payment/retry`, {
        token: passenger.accessToken,
        headers: { "idempotency-key": crypto.randomUUID() },
        body: {},
      }),
      409,
      "payment_not_retryable",
    );
    expect(await rideState(rideId)).toEqual(before);
    expect(await paymentsOfRide(rideId)).toHaveLength(1);
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    expect((await quote(passenger, TRIP)).outstanding_fee_cents).toBe(0);
    await expectLedgerConsistent();
  });

  it("refused by the card leaves a debt that blocks the next ride until a retry pays it", async () => {
    const passenger = await cardPassenger(refusingToken());
    const { driver, rideId } = await acceptedRide(passenger, "card");
    await acceptedLongAgo(rideId);

    expect((await cancel(passenger, rideId)).status).toBe(200);

    expect((await ridePayment(passenger, rideId)).json).toMatchObject({
      status: "failed",
      amount_cents: POP_FEE_CENTS,
    });
    expect(await entriesOfRide(rideId)).toEqual([]);
    expect(await quote(passenger, TRIP)).toMatchObject({
      outstanding_fee_cents: POP_FEE_CENTS,
      outstanding_fee_ride_ids: [rideId],
    });
    const ridesBefore = await ridesOf(passenger.id);
    for (const payment_method of ["card", "pix", "cash"]) {
      expectProblem(await requestRide(passenger, { payment_method }), 409, "outstanding_cancellation_fee");
    }
    expect(await ridesOf(passenger.id)).toBe(ridesBefore);

    const card = await storeCard(passenger, approvingToken());
    const retried = await call("POST", `/v1/rides/${rideId}/payment/retry`, {
      token: passenger.accessToken,
      headers: { "idempotency-key": crypto.randomUUID() },
      body: { payment_method_id: card.id },
    });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toMatchObject({ status: "paid", amount_cents: POP_FEE_CENTS, attempt: 2 });
    expect(await walletOf(driver)).toMatchObject({ pending_cents: POP_FEE_SHARE_CENTS });
    expect((await quote(passenger, TRIP)).outstanding_fee_cents).toBe(0);
    expect((await requestRide(passenger, { payment_method: "card" })).status).toBe(201);
    await expectLedgerConsistent();
  });
});

describe("a Pix or cash ride's fee", () => {
  it("survives Efí being down at the cancellation: reading the payment creates the charge", async () => {
    const passenger = await registerUser("passenger");
    const { rideId } = await acceptedRide(passenger, "pix");
    await acceptedLongAgo(rideId);

    const mend = breakChargeCreation("down");
    let reply: Awaited<ReturnType<typeof cancel>>;
    try {
      reply = await cancel(passenger, rideId);
    } finally {
      mend();
    }

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: POP_FEE_CENTS });
    const payment = await ridePayment(passenger, rideId);
    expect(payment.status, payment.text).toBe(200);
    expect(payment.json).toMatchObject({ status: "pending", method: "pix", amount_cents: POP_FEE_CENTS });
    expect(payment.json.pix.txid).toEqual(expect.any(String));
    expect(payment.json.pix.copia_e_cola).toMatch(/^000201/);
  });

  it("of a cash ride is a debt: nothing posted, a Pix charge to pay it, the next ride refused", async () => {
    const passenger = await registerUser("passenger");
    const { driver, rideId } = await acceptedRide(passenger, "cash");
    await acceptedLongAgo(rideId);

    const reply = await cancel(passenger, rideId);

    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: POP_FEE_CENTS });
    expect(await entriesOfRide(rideId)).toEqual([]);
    expect(await walletOf(driver)).toMatchObject({ pending_cents: 0, credit_cents: 0 });
    expect((await ridePayment(passenger, rideId)).json).toMatchObject({
      status: "pending",
      method: "pix",
      amount_cents: POP_FEE_CENTS,
    });
    expect(await quote(passenger, TRIP)).toMatchObject({
      outstanding_fee_cents: POP_FEE_CENTS,
      outstanding_fee_ride_ids: [rideId],
    });
    const quoted = await quote(passenger, TRIP);
    expectProblem(
      await requestRide(passenger, { payment_method: "cash", quote_id: quoted.quote_id }),
      409,
      "outstanding_cancellation_fee",
    );

    // Someone else's debt is not theirs, and the fee is nobody else's to read.
    const stranger = await registerUser("passenger");
    expect((await quote(stranger, TRIP)).outstanding_fee_cents).toBe(0);
    expectProblem(await ridePayment(stranger, rideId), 404, "not_found");
    expect((await requestRide(stranger, { payment_method: "cash" })).status).toBe(201);
  });
});
