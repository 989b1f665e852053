import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { ApiError } from "../../src/lib/problem";
import { accountId, driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balancesOf } from "../../src/services/ledger/balances";
import { post } from "../../src/services/ledger/post";
import {
  RideAlreadyPaidError,
  type RidePayment,
  recordCreditTopup,
  recordRidePayment,
} from "../../src/services/ledger/ride-postings";
import { registerUser, unique } from "../helpers";
import { insertCompletedRide, insertUser } from "../money-helpers";
import { completeAtDropoff, onlineDriver, postRide, requestedRide, rideRow } from "../ride-helpers";

const ctx = () => createServiceContext(env);

// The quote of pop from Sé to Paulista (what a normal trip is charged): 2,560 m × 1.3 = 3,328 m
// in 479 s at 25 km/h; 500 + 150 × 3.328 + 30 × 479 / 60 = 1238.7 → 1239, + 100 = 1339; 20 % = 268.
const FARE = 1339;
const COMMISSION = 268;
const SHARE = FARE - COMMISSION;
const POP_CANCELLATION_FEE_CENTS = 500; // migrations/0002_seed_sao_paulo.sql
const GRACE_SECONDS = 120; // wrangler.toml CANCELLATION_GRACE_SECONDS

/** A ride requested with `payment_method`, taken by a fresh driver and walked through `steps`. */
async function rideThrough(
  steps: ("arrive" | "start" | "complete")[],
  paymentMethod: "pix" | "card" | "cash" = "pix",
  category = "pop",
) {
  const { passenger, ride } = await requestedRide({ payment_method: paymentMethod, category });
  const driver = await onlineDriver(category);
  expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
  for (const step of steps) {
    const reply =
      step === "complete"
        ? await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 })
        : await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  return { passenger, driver, ride };
}

const payment = (rideId: string, extra: Partial<RidePayment> = {}): RidePayment => ({
  rideId,
  method: "pix",
  amountCents: FARE,
  provider: "efi",
  providerReference: `E${unique()}`,
  // Thursday 2026-11-19 02:00 UTC is Wednesday 18 Nov, 23:00 in São Paulo.
  confirmedAt: new Date("2026-11-19T02:00:00Z"),
  ...extra,
});

/** The accounts a ride payment touches, as one comparable snapshot. */
async function moneyOf(driverId: string) {
  const refs = {
    efi: platformAccount("efi_clearing"),
    card: platformAccount("card_clearing"),
    revenue: platformAccount("revenue"),
    pending: driverAccount(driverId, "pending"),
    available: driverAccount(driverId, "available"),
    credit: driverAccount(driverId, "credit"),
  };
  const balances = await balancesOf(ctx(), Object.values(refs));
  const of = (name: keyof typeof refs) => balances.get(accountId(refs[name])) ?? 0;
  return {
    efi: of("efi"),
    card: of("card"),
    revenue: of("revenue"),
    pending: of("pending"),
    available: of("available"),
    credit: of("credit"),
  };
}

const delta = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

async function ledgerOfRide(rideId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, idempotency_key, kind, effective_at, memo FROM ledger_transactions WHERE reference_type = 'ride' AND reference_id = ?",
  )
    .bind(rideId)
    .all();
  return results;
}

async function settlementsOfRide(rideId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM settlements WHERE ride_id = ?").bind(rideId).all();
  return results;
}

/** Everything a refused payment must leave alone. */
async function snapshot(rideId: string, driverId: string) {
  return {
    money: await moneyOf(driverId),
    ledger: await ledgerOfRide(rideId),
    settlements: await settlementsOfRide(rideId),
  };
}

describe("recordRidePayment: a completed Pix ride", () => {
  it("moves clearing, pending and revenue by exactly fare, share and commission, and schedules D+2", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"]);
    const completed = await rideRow(ride.id);
    expect(completed).toMatchObject({ status: "completed", final_fare_cents: FARE });
    const before = await moneyOf(driver.id);

    const result = await recordRidePayment(ctx(), payment(ride.id, { providerReference: "E2E-first" }));

    expect(result).toMatchObject({ replayed: false, driverCents: SHARE, commissionCents: COMMISSION });
    expect(delta(await moneyOf(driver.id), before)).toEqual({
      efi: FARE,
      card: 0,
      revenue: COMMISSION,
      pending: SHARE,
      available: 0,
      credit: 0,
    });
    expect(await ledgerOfRide(ride.id)).toEqual([
      {
        id: result.transactionId,
        idempotency_key: `ride:${ride.id}:payment`,
        kind: "ride.payment",
        effective_at: completed?.completed_at,
        memo: "efi:E2E-first",
      },
    ]);
    const { results: entries } = await env.DB.prepare(
      "SELECT account_id, amount FROM ledger_entries WHERE transaction_id = ? ORDER BY amount",
    )
      .bind(result.transactionId)
      .all();
    expect(entries).toEqual([
      { account_id: `driver:${driver.id}:pending`, amount: -SHARE },
      { account_id: "platform:platform:revenue", amount: -COMMISSION },
      { account_id: "platform:platform:efi_clearing", amount: FARE },
    ]);
    // Confirmed Wednesday 18 Nov in São Paulo (already Thursday in UTC): D+1 is Thursday 19,
    // Friday 20 is a holiday (Consciência Negra), then the weekend, so D+2 is Monday 23.
    expect(await settlementsOfRide(ride.id)).toEqual([
      expect.objectContaining({
        driver_id: driver.id,
        source_transaction_id: result.transactionId,
        amount_cents: SHARE,
        due_on: "2026-11-23",
        status: "scheduled",
        release_transaction_id: null,
      }),
    ]);
  });

  it("is idempotent: a replay returns the same transaction and changes nothing", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"]);
    const first = await recordRidePayment(ctx(), payment(ride.id, { providerReference: "E2E-once" }));
    const before = await snapshot(ride.id, driver.id);

    const again = await recordRidePayment(
      ctx(),
      payment(ride.id, { providerReference: "E2E-once", confirmedAt: new Date("2026-12-01T12:00:00Z") }),
    );

    expect(again).toEqual({ ...first, replayed: true });
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
    expect(before.ledger).toHaveLength(1);
    expect(before.settlements).toHaveLength(1);
  });

  it("refuses a second, different payment of a paid ride and posts nothing", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"]);
    const first = await recordRidePayment(ctx(), payment(ride.id, { providerReference: "E2E-a" }));
    const before = await snapshot(ride.id, driver.id);

    const other = recordRidePayment(ctx(), payment(ride.id, { providerReference: "E2E-b" }));
    await expect(other).rejects.toBeInstanceOf(RideAlreadyPaidError);
    await expect(other).rejects.toMatchObject({
      transactionId: first.transactionId,
      recordedReference: "efi:E2E-a",
    });
    await expect(recordRidePayment(ctx(), payment(ride.id, { method: "card" }))).rejects.toThrow(
      /other content/,
    );
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
  });

  it("refuses a wrong amount and changes nothing", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"]);
    const before = await snapshot(ride.id, driver.id);
    for (const amountCents of [FARE - 1, FARE + 1, 0, -FARE, 13.5]) {
      const attempt = recordRidePayment(ctx(), payment(ride.id, { amountCents }));
      await expect(attempt).rejects.toBeInstanceOf(ApiError);
      await expect(attempt).rejects.toMatchObject({ code: "validation_failed" });
    }
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
    expect(before.ledger).toEqual([]);
  });

  it.each(["arrive", "start"] as const)("refuses a ride that is not completed (after %s)", async (last) => {
    const steps = last === "arrive" ? (["arrive"] as const) : (["arrive", "start"] as const);
    const { driver, ride } = await rideThrough([...steps]);
    const before = await snapshot(ride.id, driver.id);
    await expect(recordRidePayment(ctx(), payment(ride.id))).rejects.toMatchObject({
      code: "invalid_transition",
    });
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
  });

  it("refuses a ride that does not exist", async () => {
    await expect(recordRidePayment(ctx(), payment(`ride_${unique()}`))).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("refuses a completed cash ride: its commission came from the driver's credit", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"], "cash");
    const before = await snapshot(ride.id, driver.id);
    await expect(recordRidePayment(ctx(), payment(ride.id))).rejects.toMatchObject({
      code: "invalid_transition",
    });
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
  });
});

describe("recordRidePayment: other payments", () => {
  it("lands even when the driver's pending balance is in debt (after a clawback)", async () => {
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"]);
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.clawback",
      reference: { type: "test", id: driver.id },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver.id, "pending"), amount: 2000 },
        { account: platformAccount("efi_clearing"), amount: -2000 },
      ],
    });
    expect((await moneyOf(driver.id)).pending).toBe(-2000);
    await recordRidePayment(ctx(), payment(ride.id));
    expect((await moneyOf(driver.id)).pending).toBe(-2000 + SHARE);
  });

  it("books a card payment to card clearing; a Friday confirmation is due Tuesday", async () => {
    // Written straight to D1: through the app a card ride is charged at completion, which
    // payments.card.test.ts covers; here only the ledger side is under test.
    const driver = { id: await insertUser("driver") };
    const ride = await insertCompletedRide(ctx(), {
      driverId: driver.id,
      passengerId: await insertUser("passenger"),
      fareCents: FARE,
      method: "card",
      completedAt: new Date("2026-11-13T14:30:00Z"),
    });
    const before = await moneyOf(driver.id);
    const result = await recordRidePayment(
      ctx(),
      payment(ride.id, {
        method: "card",
        provider: "card",
        providerReference: "ch_1",
        confirmedAt: new Date("2026-11-13T15:00:00Z"),
      }),
    );
    expect(delta(await moneyOf(driver.id), before)).toEqual({
      efi: 0,
      card: FARE,
      revenue: COMMISSION,
      pending: SHARE,
      available: 0,
      credit: 0,
    });
    // Friday 13 → Monday 16 (D+1) → Tuesday 17 (D+2).
    expect(await settlementsOfRide(ride.id)).toEqual([
      expect.objectContaining({ source_transaction_id: result.transactionId, due_on: "2026-11-17" }),
    ]);
  });

  it("splits a cancellation fee like a fare, dated at the cancellation", async () => {
    const { passenger, driver, ride } = await rideThrough(["arrive"]);
    await acceptedLongAgo(ride.id);
    const cancelled = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" });
    expect(cancelled.json).toMatchObject({
      status: "cancelled",
      cancellation_fee_cents: POP_CANCELLATION_FEE_CENTS,
    });
    const before = await moneyOf(driver.id);

    // A full fare is the wrong amount for a cancelled ride.
    await expect(recordRidePayment(ctx(), payment(ride.id))).rejects.toMatchObject({
      code: "validation_failed",
    });
    const result = await recordRidePayment(
      ctx(),
      payment(ride.id, { amountCents: POP_CANCELLATION_FEE_CENTS }),
    );

    // 500 × 20 % = 100, which is also pop's minimum.
    expect(result).toMatchObject({ commissionCents: 100, driverCents: 400 });
    expect(delta(await moneyOf(driver.id), before)).toMatchObject({ efi: 500, revenue: 100, pending: 400 });
    const [txn] = await ledgerOfRide(ride.id);
    expect(txn?.effective_at).toBe((await rideRow(ride.id))?.cancelled_at);
    expect(await settlementsOfRide(ride.id)).toEqual([expect.objectContaining({ amount_cents: 400 })]);
  });

  it("refuses a cancelled ride without a fee", async () => {
    const { passenger, driver, ride } = await rideThrough([]);
    expect((await postRide(passenger.accessToken, ride.id, "cancel", { reason: "oops" })).status).toBe(200);
    const before = await snapshot(ride.id, driver.id);
    await expect(recordRidePayment(ctx(), payment(ride.id, { amountCents: 1 }))).rejects.toMatchObject({
      code: "invalid_transition",
    });
    expect(await snapshot(ride.id, driver.id)).toEqual(before);
  });

  it("leaves pending alone and schedules nothing when the commission is the whole fare", async () => {
    // Only this test rides comfort in this file: its rule becomes 100 %.
    await env.DB.prepare(
      "INSERT INTO commission_rules (id, city_id, category, rate_bp, min_cents, max_cents, effective_from, created_at) VALUES (?, 'sao_paulo', 'comfort', 10000, NULL, NULL, '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z')",
    )
      .bind(`com_${unique()}`)
      .run();
    const { driver, ride } = await rideThrough(["arrive", "start", "complete"], "pix", "comfort");
    const fare = Number((await rideRow(ride.id))?.final_fare_cents);
    const before = await moneyOf(driver.id);
    const result = await recordRidePayment(ctx(), payment(ride.id, { amountCents: fare }));
    expect(result).toMatchObject({ commissionCents: fare, driverCents: 0 });
    expect(delta(await moneyOf(driver.id), before)).toMatchObject({ efi: fare, revenue: fare, pending: 0 });
    expect(await settlementsOfRide(ride.id)).toEqual([]);
  });
});

describe("recordCreditTopup", () => {
  it("moves Efí clearing and the driver's credit by the amount, once per provider reference", async () => {
    const driver = await registerUser("driver");
    const before = await moneyOf(driver.id);
    const topup = {
      driverId: driver.id,
      amountCents: 5000,
      providerReference: `txid${unique()}`,
      confirmedAt: new Date("2026-11-20T15:00:00Z"),
    };

    const first = await recordCreditTopup(ctx(), topup);
    const again = await recordCreditTopup(ctx(), topup);

    expect(first.replayed).toBe(false);
    expect(again).toEqual({ transactionId: first.transactionId, replayed: true });
    expect(delta(await moneyOf(driver.id), before)).toEqual({
      efi: 5000,
      card: 0,
      revenue: 0,
      pending: 0,
      available: 0,
      credit: 5000,
    });
    const txn = await env.DB.prepare(
      "SELECT idempotency_key, kind, effective_at FROM ledger_transactions WHERE id = ?",
    )
      .bind(first.transactionId)
      .first();
    expect(txn).toEqual({
      idempotency_key: `topup:${topup.providerReference}`,
      kind: "credit.topup",
      effective_at: "2026-11-20T15:00:00.000Z",
    });
    // The same reference for another driver is another posting's content: refused.
    const other = await registerUser("driver");
    await expect(recordCreditTopup(ctx(), { ...topup, driverId: other.id })).rejects.toThrow(/other content/);
  });

  it("refuses a non-positive amount and someone who is not a driver", async () => {
    const driver = await registerUser("driver");
    const passenger = await registerUser("passenger");
    const base = { providerReference: `txid${unique()}`, confirmedAt: new Date() };
    for (const amountCents of [0, -100, 10.5]) {
      await expect(
        recordCreditTopup(ctx(), { ...base, driverId: driver.id, amountCents }),
      ).rejects.toMatchObject({
        code: "validation_failed",
      });
    }
    await expect(
      recordCreditTopup(ctx(), { ...base, driverId: passenger.id, amountCents: 100 }),
    ).rejects.toMatchObject({ code: "not_found" });
    expect((await moneyOf(driver.id)).credit).toBe(0);
  });
});

/** Moves the ride's acceptance past the grace period, in D1 and in its RideRoom's own copy. */
async function acceptedLongAgo(rideId: string) {
  const at = new Date(Date.now() - (GRACE_SECONDS + 60) * 1000).toISOString();
  await env.DB.prepare("UPDATE rides SET accepted_at = ? WHERE id = ?").bind(at, rideId).run();
  await runInDurableObject(env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId)), (_instance, state) => {
    state.storage.sql.exec("UPDATE ride SET row = json_set(row, '$.acceptedAt', ?) WHERE id = 1", at);
  });
}
