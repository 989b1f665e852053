import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import {
  type CardProvider,
  LOCAL_CARD_PENDING_TOKEN,
  LocalCardProvider,
} from "../../src/integrations/card/provider";
import { EfiError } from "../../src/integrations/efi/errors";
import { encryptText } from "../../src/lib/crypto";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { chargeCardRide } from "../../src/services/payments/card/charge";
import { addCard } from "../../src/services/payments/card/on-file";
import { retryCardPayment } from "../../src/services/payments/card/retry";
import { rideView } from "../../src/services/rides/view";
import { sandboxControl } from "../efi-network";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent, insertCompletedRide, insertUser } from "../money-helpers";
import {
  bearer,
  completeAtDropoff,
  onlineDriver,
  openSocket,
  postRide,
  requestRide,
  rideRow,
} from "../ride-helpers";

// Card payments through the app; Efí's card API is the in-process sandbox, which decides a charge
// by the payment token's last character: 1, 2 or 3 refuse it, anything else approves it.

// What the driver's app reports (advisory, never priced).
const TRIP = { distance_m: 3000, duration_s: 600 };
// The quote of pop from Sé to Paulista, which a normal trip is charged: 2,560 m × 1.3 = 3,328 m
// in 479 s at 25 km/h; 500 + 150 × 3.328 + 30 × 479 / 60 = 1238.7 → 1239, + 100 = 1339; 20 % = 268.
const FARE = 1339;
const COMMISSION = 268;
const SHARE = FARE - COMMISSION;

const REFUSED_FOR_SECURITY = "Transação não autorizada por motivos de segurança.";
const TRY_AGAIN_LATER = "Transação não autorizada, tente novamente mais tarde.";

const ctx = () => createServiceContext(env);

/** A valid CPF (check digits computed), random enough to be unique per test passenger. */
function randomCpf(): string {
  const digits = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
  if (digits.every((d) => d === digits[0])) digits[0] = ((digits[0] ?? 0) + 1) % 10;
  for (const length of [9, 10]) {
    const sum = digits.slice(0, length).reduce((acc, d, i) => acc + d * (length + 1 - i), 0);
    const rest = (sum * 10) % 11;
    digits.push(rest === 10 ? 0 : rest);
  }
  return digits.join("");
}

/** A device-SDK-like token whose last character picks the sandbox's outcome. */
const approvingToken = () => `tok${unique()}x0`;
const refusingToken = () => `tok${unique()}x2`;

async function cardPassenger(cpf = randomCpf()): Promise<TestUser> {
  return registerUser("passenger", { cpf });
}

async function storeCard(passenger: TestUser, paymentToken: string, extra: Record<string, unknown> = {}) {
  const reply = await call("POST", "/v1/payment-methods/cards", {
    token: passenger.accessToken,
    body: { payment_token: paymentToken, brand: "visa", last4: "4242", ...extra },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json as { id: string; brand: string; last4: string; created_at: string };
}

/** A card ride requested by `passenger`, taken by a fresh driver and walked to in_progress. */
async function cardRideInProgress(passenger: TestUser) {
  const requested = await requestRide(passenger, { payment_method: "card" });
  expect(requested.status, requested.text).toBe(201);
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, requested.json.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  return { rideId: requested.json.id as string, driver };
}

type PaymentRow = {
  id: string;
  method: string;
  status: string;
  amount_cents: number;
  attempt: number;
  card_charge_id: string | null;
  failure_reason: string | null;
  ledger_transaction_id: string | null;
  paid_at: string | null;
};

function paymentRow(rideId: string) {
  return env.DB.prepare("SELECT * FROM payments WHERE ride_id = ? AND purpose = 'ride'")
    .bind(rideId)
    .first<PaymentRow>();
}

/** The ride's payment once its charge has been decided (the charge may run after the reply). */
async function decidedPayment(rideId: string): Promise<PaymentRow> {
  for (let i = 0; i < 100; i++) {
    const row = await paymentRow(rideId);
    if (row && (row.status !== "pending" || row.card_charge_id)) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `the card payment of ${rideId} was never decided: ${JSON.stringify(await paymentRow(rideId))}`,
  );
}

/** Completes the ride and waits for its card charge. */
async function completeCardRide(rideId: string, driver: TestUser) {
  const completed = await completeAtDropoff(driver, rideId, TRIP);
  expect(completed.status, completed.text).toBe(200);
  expect(completed.json).toMatchObject({ status: "completed", final_fare_cents: FARE });
  return decidedPayment(rideId);
}

async function ridePostings(rideId: string) {
  const { results } = await env.DB.prepare(
    `SELECT t.id, t.idempotency_key, t.kind, t.memo, e.account_id, e.amount
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      WHERE t.reference_type = 'ride' AND t.reference_id = ? ORDER BY e.amount`,
  )
    .bind(rideId)
    .all<{
      id: string;
      idempotency_key: string;
      kind: string;
      memo: string;
      account_id: string;
      amount: number;
    }>();
  return results;
}

async function platformBalances() {
  return {
    clearing: await balanceOf(ctx(), platformAccount("card_clearing")),
    revenue: await balanceOf(ctx(), platformAccount("revenue")),
  };
}

/** The sandbox's record of a card charge, by its id at Efí. */
async function sandboxCharge(chargeId: string) {
  const state = await sandboxControl("GET", "/sandbox/state");
  const cards = state.json.cards as {
    charge_id: number;
    status: string;
    total: number;
    customer: string;
    custom_id: string;
  }[];
  return cards.find((c) => String(c.charge_id) === chargeId);
}

function retry(passenger: TestUser, rideId: string, body?: unknown, key = unique()) {
  return call("POST", `/v1/rides/${rideId}/payment/retry`, {
    token: passenger.accessToken,
    headers: { "idempotency-key": key },
    body,
  });
}

/** Asserts the ride's one payment posting: card clearing ← fare, driver pending ← share, revenue ← commission. */
async function expectPaidOnce(rideId: string, driverId: string, chargeId: string) {
  const postings = await ridePostings(rideId);
  expect(postings).toEqual([
    expect.objectContaining({ account_id: `driver:${driverId}:pending`, amount: -SHARE }),
    expect.objectContaining({ account_id: "platform:platform:revenue", amount: -COMMISSION }),
    expect.objectContaining({ account_id: "platform:platform:card_clearing", amount: FARE }),
  ]);
  expect(new Set(postings.map((p) => p.id)).size).toBe(1);
  expect(postings[0]).toMatchObject({
    idempotency_key: `ride:${rideId}:payment`,
    kind: "ride.payment",
    memo: `efi:${chargeId}`,
  });
  expect(await balanceOf(ctx(), driverAccount(driverId, "pending"))).toBe(SHARE);
}

describe("cards on file", () => {
  it("stores a card (201) and lists it without its token, newest first", async () => {
    const passenger = await cardPassenger();
    const token = approvingToken();
    const first = await storeCard(passenger, token, { brand: "mastercard", last4: "0001" });
    expect(first).toEqual({
      id: expect.stringMatching(/^pm_[0-9A-Z]{26}$/),
      brand: "mastercard",
      last4: "0001",
      created_at: expect.any(String),
    });
    const second = await storeCard(passenger, approvingToken(), { brand: "elo", last4: "9876" });

    const list = await call("GET", "/v1/payment-methods", { token: passenger.accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.json).toEqual({ items: [second, first], next_cursor: null });
    expect(list.text).not.toContain(token);
    expect(list.text).not.toContain("payment_token");

    const row = await env.DB.prepare("SELECT * FROM payment_methods WHERE id = ?").bind(first.id).first();
    expect(row).toMatchObject({ user_id: passenger.id, kind: "card", payment_token: token, last4: "0001" });
  });

  it("pages the list with a cursor", async () => {
    const passenger = await cardPassenger();
    const cards = [];
    for (let i = 0; i < 3; i++) cards.push(await storeCard(passenger, approvingToken()));
    const page1 = await call("GET", "/v1/payment-methods?limit=2", { token: passenger.accessToken });
    expect(page1.json.items.map((c: { id: string }) => c.id)).toEqual([cards[2]?.id, cards[1]?.id]);
    const page2 = await call("GET", `/v1/payment-methods?limit=2&cursor=${page1.json.next_cursor}`, {
      token: passenger.accessToken,
    });
    expect(page2.json).toEqual({ items: [cards[0]], next_cursor: null });
  });

  it("lists only the caller's own cards", async () => {
    const owner = await cardPassenger();
    await storeCard(owner, approvingToken());
    const other = await cardPassenger();
    const list = await call("GET", "/v1/payment-methods", { token: other.accessToken });
    expect(list.json).toEqual({ items: [], next_cursor: null });
  });

  it("is for passengers: a driver gets 403 on both routes", async () => {
    const driver = await registerUser("driver");
    const body = { payment_token: approvingToken(), brand: "visa", last4: "4242" };
    expectProblem(
      await call("POST", "/v1/payment-methods/cards", { token: driver.accessToken, body }),
      403,
      "forbidden",
    );
    expectProblem(await call("GET", "/v1/payment-methods", { token: driver.accessToken }), 403, "forbidden");
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM payment_methods WHERE user_id = ?")
      .bind(driver.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("needs a token: 401 without one", async () => {
    const body = { payment_token: approvingToken(), brand: "visa", last4: "4242" };
    expectProblem(await call("POST", "/v1/payment-methods/cards", { body }), 401, "authentication_required");
    expectProblem(await call("GET", "/v1/payment-methods"), 401, "authentication_required");
  });

  it("refuses a card for a passenger without a CPF (409 cpf_required): the card could never be charged", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/payment-methods/cards", {
      token: passenger.accessToken,
      body: { payment_token: approvingToken(), brand: "visa", last4: "4242" },
    });
    expectProblem(reply, 409, "cpf_required");
  });

  const valid = { payment_token: "tok_valid_0", brand: "visa", last4: "4242" };
  describe.each([
    ["last4 of 3 digits", { ...valid, last4: "424" }, "last4"],
    ["last4 of 5 digits", { ...valid, last4: "42424" }, "last4"],
    ["last4 with letters", { ...valid, last4: "42a4" }, "last4"],
    ["last4 as a number", { ...valid, last4: 4242 }, "last4"],
    ["an unknown brand", { ...valid, brand: "diners" }, "brand"],
    ["a brand in capitals", { ...valid, brand: "VISA" }, "brand"],
    ["no payment_token", { brand: "visa", last4: "4242" }, "payment_token"],
    ["an empty payment_token", { ...valid, payment_token: "" }, "payment_token"],
    ["a payment_token with spaces", { ...valid, payment_token: "tok with spaces" }, "payment_token"],
    ["a payment_token of 256 characters", { ...valid, payment_token: "t".repeat(256) }, "payment_token"],
  ])("with %s", (_name, body, path) => {
    it("answers 400 validation_failed naming the field and stores nothing", async () => {
      const passenger = await cardPassenger();
      const reply = await call("POST", "/v1/payment-methods/cards", { token: passenger.accessToken, body });
      expectProblem(reply, 400, "validation_failed");
      expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(path);
      const list = await call("GET", "/v1/payment-methods", { token: passenger.accessToken });
      expect(list.json.items).toEqual([]);
    });
  });
});

describe("requesting a card ride", () => {
  it("needs a card on file: 409 card_required, no ride", async () => {
    const passenger = await cardPassenger();
    const reply = await requestRide(passenger, { payment_method: "card" });
    expectProblem(reply, 409, "card_required");
    const rides = await env.DB.prepare("SELECT COUNT(*) AS n FROM rides WHERE passenger_id = ?")
      .bind(passenger.id)
      .first<{ n: number }>();
    expect(rides?.n).toBe(0);
  });

  it("is accepted once a card is stored", async () => {
    const passenger = await cardPassenger();
    await storeCard(passenger, approvingToken());
    const reply = await requestRide(passenger, { payment_method: "card" });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json.payment_method).toBe("card");
  });
});

describe("a card ride's completion", () => {
  it("charges the card: payment paid, ledger moved by fare / share / commission, payment.confirmed", async () => {
    const cpf = randomCpf();
    const passenger = await cardPassenger(cpf);
    const token = approvingToken();
    await storeCard(passenger, token);
    const { rideId, driver } = await cardRideInProgress(passenger);
    const socket = await openSocket("/v1/ws", bearer(passenger.accessToken));
    const driverSocket = await openSocket("/v1/ws", bearer(driver.accessToken));
    const before = await platformBalances();

    const payment = await completeCardRide(rideId, driver);

    expect(payment).toMatchObject({
      method: "card",
      status: "paid",
      amount_cents: FARE,
      attempt: 1,
      failure_reason: null,
      card_charge_id: expect.stringMatching(/^\d+$/),
      ledger_transaction_id: expect.stringMatching(/^txn_/),
      paid_at: expect.any(String),
    });
    const chargeId = payment.card_charge_id ?? "";
    await expectPaidOnce(rideId, driver.id, chargeId);
    const after = await platformBalances();
    expect(after.clearing - before.clearing).toBe(FARE);
    expect(after.revenue - before.revenue).toBe(COMMISSION);

    // Efí got the fare, the payment's attempt as custom_id, and the passenger's own data.
    const charge = await sandboxCharge(chargeId);
    // Approved, then captured at once (the in-process sandbox settles inline).
    expect(charge).toMatchObject({ status: "paid", total: FARE, custom_id: `${payment.id}:1` });
    expect(JSON.parse(charge?.customer ?? "{}")).toMatchObject({
      name: "Test User",
      cpf,
      phone_number: "11987654321",
    });

    const event = await socket.next((m) => m.type === "payment.confirmed");
    expect(event).toMatchObject({
      ride_id: rideId,
      data: {
        id: payment.id,
        ride_id: rideId,
        method: "card",
        status: "paid",
        amount_cents: FARE,
        pix: null,
      },
    });
    expect(JSON.stringify(event)).not.toContain(token);
    socket.socket.close();
    const wallet = await driverSocket.next((m) => m.type === "wallet.updated");
    expect(wallet.data).toMatchObject({ pending_cents: SHARE });
    driverSocket.socket.close();
    await expectLedgerConsistent();
  });

  it("a refused card leaves the ride payable: payment failed, payment.failed, ride still completed, no money moved", async () => {
    const passenger = await cardPassenger();
    await storeCard(passenger, refusingToken());
    const { rideId, driver } = await cardRideInProgress(passenger);
    const socket = await openSocket("/v1/ws", bearer(passenger.accessToken));

    const payment = await completeCardRide(rideId, driver);

    expect(payment).toMatchObject({
      status: "failed",
      attempt: 1,
      failure_reason: REFUSED_FOR_SECURITY,
      card_charge_id: expect.stringMatching(/^\d+$/),
      ledger_transaction_id: null,
      paid_at: null,
    });
    expect(await rideRow(rideId)).toMatchObject({ status: "completed", final_fare_cents: FARE });
    const ride = await call("GET", `/v1/rides/${rideId}`, { token: passenger.accessToken });
    expect(ride.json.status).toBe("completed");
    expect(await ridePostings(rideId)).toEqual([]);
    expect(await balanceOf(ctx(), driverAccount(driver.id, "pending"))).toBe(0);

    const event = await socket.next((m) => m.type === "payment.failed");
    expect(event).toMatchObject({
      ride_id: rideId,
      data: { id: payment.id, status: "failed", failure_reason: REFUSED_FOR_SECURITY, attempt: 1 },
    });
    socket.socket.close();
    await expectLedgerConsistent();
  });
});

describe("retrying a failed card payment", () => {
  async function refusedRide() {
    const passenger = await cardPassenger();
    await storeCard(passenger, refusingToken());
    const { rideId, driver } = await cardRideInProgress(passenger);
    const payment = await completeCardRide(rideId, driver);
    expect(payment.status).toBe("failed");
    return { passenger, driver, rideId, payment };
  }

  it("charges a newly stored card and records the payment once", async () => {
    const { passenger, driver, rideId, payment } = await refusedRide();
    await storeCard(passenger, approvingToken());
    const socket = await openSocket("/v1/ws", bearer(passenger.accessToken));
    const before = await platformBalances();

    const reply = await retry(passenger, rideId);

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      id: payment.id,
      ride_id: rideId,
      method: "card",
      status: "paid",
      amount_cents: FARE,
      attempt: 2,
      failure_reason: null,
      paid_at: expect.any(String),
    });
    const row = await paymentRow(rideId);
    expect(row).toMatchObject({ status: "paid", attempt: 2, ledger_transaction_id: expect.any(String) });
    await expectPaidOnce(rideId, driver.id, row?.card_charge_id ?? "");
    const after = await platformBalances();
    expect(after.clearing - before.clearing).toBe(FARE);
    expect(after.revenue - before.revenue).toBe(COMMISSION);
    // One charge per attempt, each tagged with it.
    expect(await sandboxCharge(payment.card_charge_id ?? "")).toMatchObject({ custom_id: `${payment.id}:1` });
    expect(await sandboxCharge(row?.card_charge_id ?? "")).toMatchObject({ custom_id: `${payment.id}:2` });

    await socket.next((m) => m.type === "payment.confirmed" && m.data.id === payment.id);
    socket.socket.close();

    // Paid: nothing more to retry, and nothing moves.
    expectProblem(await retry(passenger, rideId), 409, "payment_not_retryable");
    expect((await ridePostings(rideId)).length).toBe(3);
    await expectLedgerConsistent();
  });

  it("charges the card named by payment_method_id, not the most recent one", async () => {
    const passenger = await cardPassenger();
    const good = await storeCard(passenger, approvingToken());
    const { rideId, driver } = await cardRideInProgress(passenger);
    // The issuer says "try again later" this once, whatever the token.
    expect((await sandboxControl("POST", "/sandbox/cards/refuse-next", { outcome: "3" })).status).toBe(200);
    const payment = await completeCardRide(rideId, driver);
    expect(payment).toMatchObject({ status: "failed", failure_reason: TRY_AGAIN_LATER });
    await storeCard(passenger, refusingToken()); // now the most recent card, and a bad one

    const reply = await retry(passenger, rideId, { payment_method_id: good.id });

    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "paid", attempt: 2 });
    await expectPaidOnce(rideId, driver.id, (await paymentRow(rideId))?.card_charge_id ?? "");
    await expectLedgerConsistent();
  });

  it("answers 200 with the payment failed again when the card is refused again; the ride stays payable", async () => {
    const { passenger, rideId, payment } = await refusedRide();
    const again = await retry(passenger, rideId);
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ status: "failed", attempt: 2, failure_reason: REFUSED_FOR_SECURITY });
    expect(await ridePostings(rideId)).toEqual([]);

    await storeCard(passenger, approvingToken());
    const third = await retry(passenger, rideId);
    expect(third.json).toMatchObject({ id: payment.id, status: "paid", attempt: 3 });
    await expectLedgerConsistent();
  });

  it("charges once when retries race: the others get 409 payment_not_retryable", async () => {
    const { passenger, driver, rideId } = await refusedRide();
    await storeCard(passenger, approvingToken());

    const replies = await Promise.all([
      retry(passenger, rideId),
      retry(passenger, rideId),
      retry(passenger, rideId),
    ]);

    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    for (const reply of replies.filter((r) => r.status === 409))
      expectProblem(reply, 409, "payment_not_retryable");
    const row = await paymentRow(rideId);
    expect(row).toMatchObject({ status: "paid", attempt: 2 });
    await expectPaidOnce(rideId, driver.id, row?.card_charge_id ?? "");
    await expectLedgerConsistent();
  });

  it("replays a retry sent again with the same Idempotency-Key, charging nothing more", async () => {
    const { passenger, rideId } = await refusedRide();
    await storeCard(passenger, approvingToken());
    const key = unique();
    const first = await retry(passenger, rideId, undefined, key);
    const second = await retry(passenger, rideId, undefined, key);
    expect(first.status, first.text).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.json).toEqual(first.json);
    expect(new Set((await ridePostings(rideId)).map((p) => p.id)).size).toBe(1);
    await expectLedgerConsistent();
  });

  it("is refused without an Idempotency-Key (400), to a driver (403), to another passenger (404)", async () => {
    const { passenger, driver, rideId } = await refusedRide();
    const before = await paymentRow(rideId);
    expectProblem(
      await call("POST", `/v1/rides/${rideId}/payment/retry`, { token: passenger.accessToken }),
      400,
      "idempotency_key_required",
    );
    expectProblem(await retry(driver, rideId), 403, "forbidden");
    const stranger = await cardPassenger();
    await storeCard(stranger, approvingToken());
    expectProblem(await retry(stranger, rideId), 404, "not_found");
    expectProblem(await retry(passenger, "ride_NOSUCHRIDE"), 404, "not_found");
    expectProblem(
      await call("POST", `/v1/rides/${rideId}/payment/retry`, { headers: { "idempotency-key": unique() } }),
      401,
      "authentication_required",
    );
    expect(await paymentRow(rideId)).toEqual(before);
  });

  it("refuses another passenger's card (404) and a payment_method_id that does not exist", async () => {
    const { passenger, rideId } = await refusedRide();
    const stranger = await cardPassenger();
    const theirs = await storeCard(stranger, approvingToken());
    const chargesBefore = (await sandboxControl("GET", "/sandbox/state")).json.cards.length;
    expectProblem(await retry(passenger, rideId, { payment_method_id: theirs.id }), 404, "not_found");
    expectProblem(await retry(passenger, rideId, { payment_method_id: "pm_NOSUCHCARD" }), 404, "not_found");
    expect(await paymentRow(rideId)).toMatchObject({ status: "failed", attempt: 1 });
    expect((await sandboxControl("GET", "/sandbox/state")).json.cards.length).toBe(chargesBefore);
  });

  it("refuses a ride that is not a card ride, and a card ride not completed yet (409 payment_not_retryable)", async () => {
    const pixPassenger = await cardPassenger();
    await storeCard(pixPassenger, approvingToken());
    const pixRide = await requestRide(pixPassenger, { payment_method: "pix" });
    expectProblem(await retry(pixPassenger, pixRide.json.id), 409, "payment_not_retryable");

    const passenger = await cardPassenger();
    await storeCard(passenger, approvingToken());
    const { rideId } = await cardRideInProgress(passenger);
    expectProblem(await retry(passenger, rideId), 409, "payment_not_retryable");
    expect(await paymentRow(rideId)).toBeNull();
  });
});

describe("outcomes the sandbox does not produce (service level, other card providers)", () => {
  /** A completed card ride written to D1, its passenger with a CPF and a card on file. */
  async function completedCardRide(serviceCtx: ServiceContext, paymentToken = "tok_any") {
    const passengerId = await insertUser("passenger");
    const driverId = await insertUser("driver");
    const cpf = await encryptText(serviceCtx.config.CPF_ENCRYPTION_KEY, randomCpf());
    await env.DB.prepare("UPDATE users SET cpf_ciphertext = ? WHERE id = ?").bind(cpf, passengerId).run();
    await addCard(serviceCtx, passengerId, { paymentToken, brand: "visa", last4: "4242" });
    const row = await insertCompletedRide(serviceCtx, {
      driverId,
      passengerId,
      fareCents: FARE,
      method: "card",
      completedAt: new Date(),
    });
    return { rideId: row.id, passengerId, ride: rideView(row) };
  }

  function withCards(cards: CardProvider): ServiceContext {
    return { ...ctx(), cards };
  }

  it("leaves a charge the issuer has not decided pending, with its charge id, not retryable", async () => {
    const serviceCtx = withCards(new LocalCardProvider("test"));
    const { ride, rideId, passengerId } = await completedCardRide(serviceCtx, LOCAL_CARD_PENDING_TOKEN);

    await chargeCardRide(serviceCtx, ride);

    const payment = await paymentRow(rideId);
    expect(payment).toMatchObject({
      status: "pending",
      card_charge_id: `local_${payment?.id}:1`,
      attempt: 1,
    });
    await expect(retryCardPayment(serviceCtx, passengerId, rideId)).rejects.toMatchObject({
      code: "payment_not_retryable",
    });
    expect(await ridePostings(rideId)).toEqual([]);
  });

  it("never charges again when the provider's answer was lost: pending, outcome_unknown", async () => {
    let charges = 0;
    const lost: CardProvider = {
      name: "lost",
      async charge() {
        charges += 1;
        throw new EfiError({ status: 0, kind: "unknown", code: "timeout", message: "no answer" });
      },
      async refund() {},
    };
    const serviceCtx = withCards(lost);
    const { ride, rideId, passengerId } = await completedCardRide(serviceCtx);

    await chargeCardRide(serviceCtx, ride);
    await chargeCardRide(serviceCtx, ride); // a second call finds the payment and charges nothing

    expect(charges).toBe(1);
    expect(await paymentRow(rideId)).toMatchObject({ status: "pending", failure_reason: "outcome_unknown" });
    await expect(retryCardPayment(serviceCtx, passengerId, rideId)).rejects.toMatchObject({
      code: "payment_not_retryable",
    });
    expect(charges).toBe(1);
  });

  it("fails a provider error that charged nothing (a 4xx), retryable", async () => {
    const refusing: CardProvider = {
      name: "broken",
      async charge() {
        throw new EfiError({ status: 400, kind: "cobrancas", code: "validation_error", message: "bad" });
      },
      async refund() {},
    };
    const { ride, rideId, passengerId } = await completedCardRide(withCards(refusing));

    await chargeCardRide(withCards(refusing), ride);

    expect(await paymentRow(rideId)).toMatchObject({
      status: "failed",
      failure_reason: "provider_error: validation_error",
    });
    const retried = await retryCardPayment(withCards(new LocalCardProvider("test")), passengerId, rideId);
    expect(retried).toMatchObject({ status: "paid", attempt: 2 });
    await expectLedgerConsistent();
  });

  it("sends no placeholder birth date or address in production: failed, customer_data_incomplete", async () => {
    let charges = 0;
    const counting: CardProvider = {
      name: "counting",
      async charge(request) {
        charges += 1;
        return { status: "approved", chargeId: request.idempotencyKey };
      },
      async refund() {},
    };
    const base = withCards(counting);
    const production: ServiceContext = { ...base, config: { ...base.config, APP_ENV: "production" } };
    const { ride, rideId } = await completedCardRide(production);

    await chargeCardRide(production, ride);

    expect(charges).toBe(0);
    expect(await paymentRow(rideId)).toMatchObject({
      status: "failed",
      failure_reason: "customer_data_incomplete: birth_date, billing_address",
    });
  });

  it("skips a ride that is not a completed card ride, and never throws", async () => {
    const serviceCtx = ctx();
    const { ride, rideId } = await completedCardRide(serviceCtx);
    await chargeCardRide(serviceCtx, { ...ride, payment_method: "pix" });
    await chargeCardRide(serviceCtx, { ...ride, status: "in_progress" });
    expect(await paymentRow(rideId)).toBeNull();
  });
});
