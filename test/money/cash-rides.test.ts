import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { rides } from "../../src/db/schema";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { post } from "../../src/services/ledger/post";
import { driverCreditStanding, recordCreditTopup } from "../../src/services/ledger/ride-postings";
import { persistTransition } from "../../src/services/rides/persistence";
import { decide } from "../../src/services/rides/state";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import {
  completeAtDropoff,
  expectRideConsistent,
  onlineDriver,
  PAULISTA,
  postRide,
  requestedRide,
  rideRow,
  rideState,
  SE,
  sendLocation,
} from "../ride-helpers";

const ctx = () => createServiceContext(env);
const CREDIT_FLOOR = -2000; // migrations/0004 settlement_config.credit_floor_cents
const GRACE_SECONDS = 120; // wrangler.toml CANCELLATION_GRACE_SECONDS

/** Today's quote of the pop trip `requestRide` makes (Sé to Paulista). */
async function popQuote(): Promise<number> {
  const passenger = await registerUser("passenger");
  const reply = await call("POST", "/v1/rides/quote", {
    token: passenger.accessToken,
    body: { pickup: SE, dropoff: PAULISTA, category: "pop" },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.estimated_fare_cents;
}

const creditOf = (driverId: string) => balanceOf(ctx(), driverAccount(driverId, "credit"));
const revenue = () => balanceOf(ctx(), platformAccount("revenue"));

/** A cash ride taken by `driver` (a fresh one by default), walked up to in_progress. */
async function cashRideInProgress(category = "pop", driver?: TestUser) {
  const { passenger, ride } = await requestedRide({ payment_method: "cash", category });
  const taker = driver ?? (await onlineDriver(category));
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(taker.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  return { passenger, driver: taker, ride };
}

/** A commission rule as seeded (migrations): rate in basis points, half up, raised to a minimum. */
const commissionOf = (fare: number, rateBp: number, minCents: number) =>
  Math.max(minCents, Math.floor((fare * rateBp + 5000) / 10_000));
const POP_COMMISSION = { rateBp: 2000, minCents: 100 };
const COMFORT_COMMISSION = { rateBp: 2500, minCents: 150 };

/**
 * Completes a cash ride at the dropoff; the fare is the quote (the trip is too thinly traced to
 * measure), whatever the driver's app reports. Answers the commission taken.
 */
async function completeCashRide(driver: TestUser, trip = { distance_m: 3000, duration_s: 600 }) {
  const { ride } = await cashRideInProgress("pop", driver);
  const reply = await completeAtDropoff(driver, ride.id, trip);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json.final_fare_cents).toBe(ride.estimated_fare_cents);
  return commissionOf(Number(ride.estimated_fare_cents), POP_COMMISSION.rateBp, POP_COMMISSION.minCents);
}

async function ledgerOfRide(rideId: string) {
  const { results } = await env.DB.prepare(
    `SELECT t.id, t.idempotency_key, t.kind, t.effective_at, e.account_id, e.amount, e.enforce_floor
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      WHERE t.reference_type = 'ride' AND t.reference_id = ? ORDER BY e.amount`,
  )
    .bind(rideId)
    .all();
  return results;
}

/** Puts a driver's credit at `target` directly, as a past cash commission would have. */
async function setCredit(driverId: string, target: number) {
  const move = target - (await creditOf(driverId));
  if (move === 0) return;
  await post(ctx(), {
    idempotencyKey: `test:${unique()}`,
    kind: "test.credit_adjustment",
    reference: { type: "test", id: driverId },
    effectiveAt: new Date(),
    lines: [
      { account: driverAccount(driverId, "credit"), amount: -move },
      { account: platformAccount("revenue"), amount: move },
    ],
  });
  expect(await creditOf(driverId)).toBe(target);
}

describe("a cash ride's completion", () => {
  it.each([
    // The driver's figures are advisory: the fare is the quote whatever they say.
    { category: "pop", distance_m: 3000, duration_s: 600, rule: POP_COMMISSION },
    { category: "pop", distance_m: 12_345, duration_s: 1834, rule: POP_COMMISSION },
    { category: "comfort", distance_m: 4321, duration_s: 437, rule: COMFORT_COMMISSION },
  ])(
    "debits the driver's credit by exactly the commission on the quote ($category, $distance_m m reported) in the completion's batch",
    async ({ category, distance_m, duration_s, rule }) => {
      const { driver, ride } = await cashRideInProgress(category);
      const revenueBefore = await revenue();
      const fare = Number(ride.estimated_fare_cents);
      const commission = commissionOf(fare, rule.rateBp, rule.minCents);

      const reply = await completeAtDropoff(driver, ride.id, { distance_m, duration_s });

      expect(reply.status, reply.text).toBe(200);
      const row = await rideRow(ride.id);
      expect(row).toMatchObject({ status: "completed", payment_method: "cash", final_fare_cents: fare });
      await expectRideConsistent(ride.id);
      expect(await creditOf(driver.id)).toBe(-commission);
      expect((await revenue()) - revenueBefore).toBe(commission);
      const ledger = await ledgerOfRide(ride.id);
      expect(ledger).toEqual([
        expect.objectContaining({ account_id: "platform:platform:revenue", amount: -commission }),
        // The ride already happened: this entry may take the credit below its floor.
        expect.objectContaining({
          account_id: `driver:${driver.id}:credit`,
          amount: commission,
          enforce_floor: 0,
        }),
      ]);
      expect(ledger[0]).toMatchObject({
        idempotency_key: `ride:${ride.id}:cash_commission`,
        kind: "ride.cash_commission",
        // The posting's business moment is the ride row's completion, written in the same batch.
        effective_at: row?.completed_at,
      });
      expect(ledger[1]?.id).toBe(ledger[0]?.id);
    },
  );

  it("posts nothing for a Pix ride: its money moves when the payment is confirmed", async () => {
    const { ride } = await requestedRide({ payment_method: "pix" });
    const driver = await onlineDriver();
    for (const step of ["accept", "arrive", "start"])
      expect((await postRide(driver.accessToken, ride.id, step)).status).toBe(200);
    expect((await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 })).status).toBe(
      200,
    );
    expect(await ledgerOfRide(ride.id)).toEqual([]);
    expect(await creditOf(driver.id)).toBe(0);
  });

  it("posts nothing from a batch whose guarded ride update did not apply", async () => {
    const { driver, ride } = await cashRideInProgress();
    const row = await ctx().db.select().from(rides).where(eq(rides.id, ride.id)).get();
    if (!row) throw new Error("no ride row");
    const decision = decide(
      row,
      { kind: "complete", driverId: driver.id, distanceM: 3000, durationS: 600, finalFareCents: 1350 },
      new Date(),
    );
    if (!decision.ok) throw new Error(decision.detail);
    // Someone moved the row behind the room's back: the guarded update of this batch matches nothing.
    await env.DB.prepare("UPDATE rides SET last_seq = 9 WHERE id = ?").bind(ride.id).run();
    const before = await rideState(ride.id);
    const revenueBefore = await revenue();

    const persisted = await persistTransition(ctx(), row, decision.next, decision.event, driver.id);

    expect(persisted).toMatchObject({ ok: false, code: "invalid_transition" });
    expect(await rideState(ride.id)).toEqual(before);
    expect(await ledgerOfRide(ride.id)).toEqual([]);
    expect(await creditOf(driver.id)).toBe(0);
    expect(await revenue()).toBe(revenueBefore);
  });

  it("a room that catches up with a moved row completes the ride and posts the commission once", async () => {
    const { driver, ride } = await cashRideInProgress();
    await env.DB.prepare("UPDATE rides SET last_seq = 9 WHERE id = ?").bind(ride.id).run();

    const reply = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });

    // Whatever the room answers, the ledger agrees with the ride row: commission iff completed.
    const row = await rideRow(ride.id);
    const ledger = await ledgerOfRide(ride.id);
    const fare = Number(ride.estimated_fare_cents);
    const commission = commissionOf(fare, POP_COMMISSION.rateBp, POP_COMMISSION.minCents);
    if (reply.status === 200) {
      expect(row).toMatchObject({ status: "completed", final_fare_cents: fare });
      expect(ledger.map((e) => e.amount)).toEqual([-commission, commission]);
      expect(await creditOf(driver.id)).toBe(-commission);
    } else {
      expectProblem(reply, 409, "invalid_transition");
      expect(row).toMatchObject({ status: "in_progress" });
      expect(ledger).toEqual([]);
      expect(await creditOf(driver.id)).toBe(0);
    }
  });

  it("does not complete the ride when its commission cannot be posted: one batch", async () => {
    const { driver, ride } = await cashRideInProgress();
    // Another posting already holds the ride's cash-commission key, so the completion's fails.
    await post(ctx(), {
      idempotencyKey: `ride:${ride.id}:cash_commission`,
      kind: "test.squatter",
      reference: { type: "test", id: ride.id },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_clearing"), amount: 1 },
        { account: platformAccount("revenue"), amount: -1 },
      ],
    });
    // At the dropoff before the snapshot: the position is the room's, not the ride row's.
    await sendLocation(driver, PAULISTA);
    const before = await rideState(ride.id);

    const reply = await postRide(driver.accessToken, ride.id, "complete", {
      distance_m: 3000,
      duration_s: 600,
    });

    expectProblem(reply, 409, "invalid_transition");
    expect(await rideState(ride.id)).toEqual(before);
    expect(before.row).toMatchObject({ status: "in_progress", final_fare_cents: null });
    expect(await creditOf(driver.id)).toBe(0);
  });

  it("posts nothing when a cash ride is cancelled with a fee: no cash changes hands", async () => {
    const { passenger, ride } = await requestedRide({ payment_method: "cash" });
    const driver = await onlineDriver();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    const at = new Date(Date.now() - (GRACE_SECONDS + 60) * 1000).toISOString();
    await env.DB.prepare("UPDATE rides SET accepted_at = ? WHERE id = ?").bind(at, ride.id).run();
    await runInDurableObject(env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(ride.id)), (_instance, state) => {
      state.storage.sql.exec("UPDATE ride SET row = json_set(row, '$.acceptedAt', ?) WHERE id = 1", at);
    });

    const reply = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" });

    expect(reply.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: 500 });
    expect(await ledgerOfRide(ride.id)).toEqual([]);
    expect(await creditOf(driver.id)).toBe(0);
  });
});

describe("the credit floor", () => {
  it("a new driver has no credit account, 0 credit, and may accept", async () => {
    const driver = await onlineDriver();
    expect(await driverCreditStanding(ctx(), driver.id)).toEqual({
      creditCents: 0,
      floorCents: CREDIT_FLOOR,
      mayAcceptRides: true,
    });
    const { ride } = await requestedRide();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
  });

  it("a cash ride may take the credit below the floor; the driver then gets 409 until a top-up", async () => {
    const driver = await onlineDriver();
    await setCredit(driver.id, -1900);
    // Still above the floor: they may take a cash ride, whose commission (the quote's, R$ 2 to
    // R$ 4 on this trip, which the top-ups below rely on) goes through it.
    const commission = await completeCashRide(driver);
    expect(commission).toBeGreaterThan(200);
    expect(commission).toBeLessThanOrEqual(400);
    expect(await creditOf(driver.id)).toBe(-1900 - commission);

    const { ride } = await requestedRide();
    const before = await rideState(ride.id);
    const refused = await postRide(driver.accessToken, ride.id, "accept");
    expectProblem(refused, 409, "driver_credit_insufficient");
    expect(await rideState(ride.id)).toEqual(before);

    // 100 is not enough (still below −2000); 200 more is.
    await recordCreditTopup(ctx(), {
      driverId: driver.id,
      amountCents: 100,
      providerReference: `txid${unique()}`,
      confirmedAt: new Date(),
    });
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "driver_credit_insufficient");
    await recordCreditTopup(ctx(), {
      driverId: driver.id,
      amountCents: 200,
      providerReference: `txid${unique()}`,
      confirmedAt: new Date(),
    });
    expect(await creditOf(driver.id)).toBe(-1600 - commission);
    const accepted = await postRide(driver.accessToken, ride.id, "accept");
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json).toMatchObject({ status: "accepted", driver_id: driver.id });
  });

  it("several cash rides add up: the driver is stopped once the commissions pass the floor", async () => {
    const driver = await onlineDriver();
    // Half a commission above the floor after one ride, half below after two.
    const commission = commissionOf(await popQuote(), POP_COMMISSION.rateBp, POP_COMMISSION.minCents);
    const start = CREDIT_FLOOR + commission + Math.floor(commission / 2);
    await setCredit(driver.id, start);
    expect(await completeCashRide(driver)).toBe(commission);
    expect(await creditOf(driver.id)).toBeGreaterThanOrEqual(CREDIT_FLOOR);
    expect(await completeCashRide(driver)).toBe(commission);
    expect(await creditOf(driver.id)).toBe(start - 2 * commission);
    expect(start - 2 * commission).toBeLessThan(CREDIT_FLOOR);
    const { ride } = await requestedRide();
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "driver_credit_insufficient");
  });

  it("exactly at the floor a driver may still accept; one centavo below they may not", async () => {
    const atFloor = await onlineDriver();
    await setCredit(atFloor.id, CREDIT_FLOOR);
    const first = await requestedRide();
    expect((await postRide(atFloor.accessToken, first.ride.id, "accept")).status).toBe(200);

    const below = await onlineDriver();
    await setCredit(below.id, CREDIT_FLOOR - 1);
    const second = await requestedRide();
    expectProblem(
      await postRide(below.accessToken, second.ride.id, "accept"),
      409,
      "driver_credit_insufficient",
    );
  });

  it("follows the configured floor, not the one stored when the account was made", async () => {
    const driver = await onlineDriver();
    await setCredit(driver.id, -2500);
    await env.DB.prepare("UPDATE settlement_config SET credit_floor_cents = -3000 WHERE id = 1").run();
    try {
      const { ride } = await requestedRide();
      expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    } finally {
      await env.DB.prepare("UPDATE settlement_config SET credit_floor_cents = ? WHERE id = 1")
        .bind(CREDIT_FLOOR)
        .run();
    }
  });

  it("a top-up for someone else's credit does not lift this driver", async () => {
    const driver = await onlineDriver();
    const other = await registerUser("driver");
    await setCredit(driver.id, -2500);
    await recordCreditTopup(ctx(), {
      driverId: other.id,
      amountCents: 5000,
      providerReference: `txid${unique()}`,
      confirmedAt: new Date(),
    });
    const { ride } = await requestedRide();
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "driver_credit_insufficient");
  });
});
