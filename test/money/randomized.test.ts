import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import type { PayoutOutcome, PayoutRail } from "../../src/integrations/payout-rail";
import { addBusinessDays, businessDateOf, startOfBusinessDate } from "../../src/lib/business-days";
import { ApiError } from "../../src/lib/problem";
import type { ServiceContext } from "../../src/services/context";
import {
  type AccountRef,
  accountId,
  driverAccount,
  platformAccount,
} from "../../src/services/ledger/accounts";
import { checkLedger } from "../../src/services/ledger/check";
import { type Posting, post } from "../../src/services/ledger/post";
import { reverse } from "../../src/services/ledger/reverse";
import {
  isDivergedTransitionError,
  recordCreditTopup,
  recordRidePayment,
  transitionStatements,
} from "../../src/services/ledger/ride-postings";
import { completePayout } from "../../src/services/payouts/complete";
import { requestPayout } from "../../src/services/payouts/request";
import { getSettlementConfig } from "../../src/services/settlements/config";
import { releaseSettlement, releaseSettlements } from "../../src/services/settlements/release";
import {
  CLEARING_SWEEPS,
  type ClearingKind,
  clearingCutoff,
  sweepClearing,
} from "../../src/services/settlements/sweep";
import { expectLedgerConsistent, insertCompletedRides, insertUser } from "../money-helpers";
import { registerKeyCooledDown } from "../payout-key-helpers";

/**
 * The walk leaves payouts in transit for the rail's later report and lets clawbacks keep a driver
 * in debt for weeks, on purpose: its model checks those balances exactly. The ageing invariants
 * (nothing_stuck for payouts, driver_debt_aged) are tested on their own in ledger-invariants.
 */
const SIMULATION_LIMITS = { stuckLimitHours: { payouts_in_transit: 24 * 365 }, debtLimitDays: 365 };

// A seeded random walk through the money services, checked against a model kept here.
// The same seed gives the same run: a failure names its seed and step, and reruns identically.
// To explore, change SEED (any 32-bit integer) or OPERATIONS; `--silent=false` prints a summary
// of what the walk did and where its time went.

const SEED = 20_261_129;
const OPERATIONS = 3000;
const DRIVERS = 12;
const PAYOUT_FEE_CENTS = 150;

/** mulberry32: a small, good-enough, seedable PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    },
    chance: (p: number) => next() < p,
    weighted: <K extends string>(weights: Record<K, number>): K => {
      const entries = Object.entries(weights) as [K, number][];
      let roll = next() * entries.reduce((sum, [, w]) => sum + w, 0);
      for (const [key, w] of entries) {
        roll -= w;
        if (roll < 0) return key;
      }
      return (entries.at(-1) as [K, number])[0];
    },
  };
}

/** Pop (São Paulo) commission: 20 %, half up, at least R$ 1,00, never more than the fare. */
const commissionOf = (fare: number) =>
  Math.min(fare, Math.max(Math.floor((fare * 2000 + 5000) / 10000), 100));

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const WEIGHTS = {
  pixRide: 20,
  cardRide: 8,
  cashRide: 10,
  topup: 6,
  release: 6,
  payout: 14,
  payoutOutcome: 9,
  clawback: 2,
  reversal: 4,
  replay: 10,
};
type Operation = keyof typeof WEIGHTS;

describe("the ledger under a long random mix of money operations", () => {
  it(`keeps every invariant and matches the model (seed ${SEED}, ${OPERATIONS} operations)`, async () => {
    const rng = prng(SEED);
    let clock = Date.parse("2026-12-01T03:00:00.000Z"); // midnight in São Paulo
    const base = createServiceContext(env);
    const railOutcomes: ("paid" | "failed" | "later" | "throw")[] = [];
    const rail: PayoutRail = {
      name: "random",
      async send(request) {
        const outcome = rng.weighted({ paid: 40, failed: 10, later: 45, throw: 5 });
        railOutcomes.push(outcome);
        if (outcome === "throw") throw new Error("rail timeout");
        const reference = `rnd_${request.payoutId}`;
        if (outcome === "later") return { reference };
        return {
          reference,
          outcome:
            outcome === "paid" ? { status: "paid" } : { status: "failed", reason: "recipient_refused" },
        };
      },
    };
    const ctx: ServiceContext = { ...base, now: () => new Date(clock), payoutRail: rail };

    await env.DB.prepare("UPDATE settlement_config SET payout_fee_cents = ? WHERE id = 1")
      .bind(PAYOUT_FEE_CENTS)
      .run();
    const config = await getSettlementConfig(ctx);
    const passenger = await insertUser("passenger");
    const drivers: string[] = [];
    for (let i = 0; i < DRIVERS; i++) drivers.push(await insertUser("driver"));
    // Each driver pays out to a key registered the way the API registers one, its cool-down over.
    for (const driver of drivers) await registerKeyCooledDown(ctx, driver, "driver@pix.test");

    // ---- The model: natural balances, and what the services should have written. ----------
    const model = new Map<string, number>();
    const move = (ref: AccountRef, delta: number) => {
      const id = accountId(ref);
      model.set(id, (model.get(id) ?? 0) + delta);
    };
    const bal = (ref: AccountRef) => model.get(accountId(ref)) ?? 0;
    /** Every entry on a clearing account: what the sweep will find. */
    const clearingEntries: Record<ClearingKind, { at: number; amount: number; sweep: boolean }[]> = {
      efi_clearing: [],
      card_clearing: [],
    };
    const intoClearing = (kind: ClearingKind, at: number, amount: number, sweep = false) => {
      clearingEntries[kind].push({ at, amount, sweep });
      move(platformAccount(kind), amount);
    };
    interface Settlement {
      id: string | null;
      driver: string;
      amount: number;
      dueOn: string;
      released: boolean;
      ride: { id: string; fare: number; commission: number; method: "pix" | "card" };
      clawedBack: boolean;
    }
    const settlements = new Map<string, Settlement>(); // by source transaction
    const inTransit = new Map<string, { driver: string; amount: number }>();
    const cashCommissions: { rideId: string; driver: string; commission: number; reversed: boolean }[] = [];
    const topups: { transactionId: string; driver: string; amount: number; at: number; reversed: boolean }[] =
      [];
    const replays: (() => Promise<void>)[] = [];
    const stats: Record<string, number> = {};
    const count = (name: string) => {
      stats[name] = (stats[name] ?? 0) + 1;
    };

    const nowDate = () => new Date(clock);
    const today = () => businessDateOf(nowDate());

    async function expectModelMatches(step: string) {
      const { results } = await env.DB.prepare("SELECT id, balance FROM ledger_accounts").all<{
        id: string;
        balance: number;
      }>();
      const actual = new Map(results.map((r) => [r.id, r.balance]));
      for (const [id, expected] of model) {
        expect(actual.get(id) ?? 0, `${id} at ${step} (seed ${SEED})`).toBe(expected);
      }
      for (const [id, balance] of actual) {
        if (!model.has(id)) expect(balance, `${id} at ${step} (seed ${SEED})`).toBe(0);
      }
    }

    // ---- Operations --------------------------------------------------------------------------

    // Completed rides are written a few at a time (one round trip for several), each taken by
    // the next operation of its payment method; a pool older than a few hours is dropped.
    type Method = "pix" | "card" | "cash";
    type RideRow = Awaited<ReturnType<typeof insertCompletedRides>>[number];
    const pools: Record<Method, { made: number; rows: RideRow[] }> = {
      pix: { made: 0, rows: [] },
      card: { made: 0, rows: [] },
      cash: { made: 0, rows: [] },
    };
    async function completedRide(method: Method): Promise<{ row: RideRow; driver: string; fare: number }> {
      const pool = pools[method];
      if (pool.rows.length === 0 || clock - pool.made > 6 * 60 * MINUTE) {
        pool.made = clock;
        pool.rows = await insertCompletedRides(
          ctx,
          Array.from({ length: 6 }, () => ({
            driverId: rng.pick(drivers),
            passengerId: passenger,
            fareCents: rng.int(800, 8000),
            method,
            completedAt: new Date(clock - rng.int(1, 30) * MINUTE),
          })),
        );
      }
      const row = pool.rows.shift();
      if (!row?.driverId || !row.finalFareCents) throw new Error("a pooled ride has no driver or fare");
      return { row, driver: row.driverId, fare: row.finalFareCents };
    }

    async function ride(method: "pix" | "card") {
      const { row, driver, fare } = await completedRide(method);
      const completedAt = new Date(row.completedAt ?? "");
      const input = {
        rideId: row.id,
        method,
        amountCents: fare,
        provider: method === "pix" ? "efi" : "card",
        providerReference: `ref_${row.id}`,
        confirmedAt: nowDate(),
      };
      const result = await recordRidePayment(ctx, input);
      const commission = commissionOf(fare);
      expect(result).toMatchObject({
        replayed: false,
        commissionCents: commission,
        driverCents: fare - commission,
      });
      intoClearing(method === "pix" ? "efi_clearing" : "card_clearing", completedAt.getTime(), fare);
      move(driverAccount(driver, "pending"), fare - commission);
      move(platformAccount("revenue"), commission);
      if (fare - commission > 0) {
        settlements.set(result.transactionId, {
          id: null,
          driver,
          amount: fare - commission,
          dueOn: addBusinessDays(today(), config.delayBusinessDays, config.holidays),
          released: false,
          ride: { id: row.id, fare, commission, method },
          clawedBack: false,
        });
      }
      replays.push(async () => {
        expect(await recordRidePayment(ctx, input)).toMatchObject({
          transactionId: result.transactionId,
          replayed: true,
        });
      });
      count(`${method}Ride`);
    }

    async function cashRide() {
      const { row, driver, fare } = await completedRide("cash");
      const run = async () => {
        const statements = await transitionStatements(ctx, { ...row, status: "in_progress" }, row);
        await ctx.db.batch(statements as [(typeof statements)[number], ...typeof statements]);
      };
      await run();
      const commission = commissionOf(fare);
      move(driverAccount(driver, "credit"), -commission);
      move(platformAccount("revenue"), commission);
      cashCommissions.push({ rideId: row.id, driver, commission, reversed: false });
      // A RideRoom that replays the completion finds it already done: the batch refuses, whole.
      replays.push(async () => {
        const error = await run().catch((e) => e);
        expect(isDivergedTransitionError(error), String(error)).toBe(true);
      });
      count("cashRide");
    }

    async function topup() {
      const driver = rng.pick(drivers);
      const amount = rng.int(500, 5000);
      const input = {
        driverId: driver,
        amountCents: amount,
        providerReference: `topup${clock}${rng.int(0, 1e9)}`,
        confirmedAt: nowDate(),
      };
      const result = await recordCreditTopup(ctx, input);
      intoClearing("efi_clearing", clock, amount);
      move(driverAccount(driver, "credit"), amount);
      topups.push({ transactionId: result.transactionId, driver, amount, at: clock, reversed: false });
      replays.push(async () => {
        expect(await recordCreditTopup(ctx, input)).toEqual({
          transactionId: result.transactionId,
          replayed: true,
        });
      });
      count("topup");
    }

    /** Scheduled settlements due today, learned each night (their ids are made by the services). */
    let dueToday: Settlement[] = [];

    function released(s: Settlement) {
      const id = s.id;
      if (!id) throw new Error("a settlement released before its id was known");
      s.released = true;
      // Into a balance that stays in debt (after a clawback): the floor guards only what lowers it.
      const available = bal(driverAccount(s.driver, "available"));
      if (available < 0 && available + s.amount < 0) count("releaseIntoDebt");
      move(driverAccount(s.driver, "pending"), -s.amount);
      move(driverAccount(s.driver, "available"), s.amount);
      replays.push(async () => {
        expect((await releaseSettlement(ctx, id, today())).status).toBe("already_released");
      });
    }

    /** One release, as a late queue delivery or a retry would do it. */
    async function release() {
      const candidates = dueToday.filter((s) => !s.released);
      if (candidates.length === 0) return;
      const s = rng.pick(candidates);
      const outcome = await releaseSettlement(ctx, s.id ?? "", today());
      expect(outcome.status, `release of ${s.id}`).toBe("released");
      released(s);
      count("release");
    }

    async function learnDueSettlements() {
      const { results } = await env.DB.prepare(
        "SELECT id, source_transaction_id AS source FROM settlements WHERE status = 'scheduled' AND due_on <= ? ORDER BY id",
      )
        .bind(today())
        .all<{ id: string; source: string }>();
      dueToday = results.map((row) => {
        const s = settlements.get(row.source);
        if (!s || s.released) throw new Error(`settlement ${row.id} is not scheduled in the model`);
        expect(s.dueOn <= today()).toBe(true);
        s.id = row.id;
        return s;
      });
      // Nothing the model holds as due is missing from the database.
      const dueInModel = [...settlements.values()].filter((s) => !s.released && s.dueOn <= today());
      expect(dueInModel.length).toBe(dueToday.length);
    }

    async function payout() {
      const driver = rng.pick(drivers);
      const available = bal(driverAccount(driver, "available"));
      // Mostly what the driver has, sometimes more: the database must refuse those.
      const amount =
        rng.chance(0.7) && available >= 1000 + PAYOUT_FEE_CENTS
          ? rng.int(1000, available - PAYOUT_FEE_CENTS)
          : rng.int(1000, 12000);
      const shouldPass = available >= amount + PAYOUT_FEE_CENTS;
      const before = railOutcomes.length;
      const result = await requestPayout(ctx, driver, {
        amountCents: amount,
        pixKey: "driver@pix.test",
      }).catch((e) => e);
      if (!shouldPass) {
        expect(result, "an overdrawing payout").toBeInstanceOf(ApiError);
        expect(result.code).toBe("insufficient_funds");
        expect(railOutcomes.length, "nothing is sent when the posting is refused").toBe(before);
        count("payoutRefused");
        return;
      }
      if (result instanceof Error) throw result;
      move(driverAccount(driver, "available"), -(amount + PAYOUT_FEE_CENTS));
      move(platformAccount("payouts_in_transit"), amount);
      move(platformAccount("revenue"), PAYOUT_FEE_CENTS);
      const sent = railOutcomes.at(-1);
      if (sent === "paid") {
        expect(result.status).toBe("paid");
        paid(amount);
        count("payoutPaidAtOnce");
      } else if (sent === "failed") {
        expect(result.status).toBe("failed");
        failed(driver, amount);
        count("payoutFailedAtOnce");
      } else {
        expect(result.status).toBe("in_transit");
        inTransit.set(result.id, { driver, amount });
        count(sent === "throw" ? "payoutRailThrew" : "payoutInTransit");
      }
    }

    function paid(amount: number) {
      move(platformAccount("payouts_in_transit"), -amount);
      move(platformAccount("efi_balance"), -amount);
    }

    function failed(driver: string, amount: number) {
      move(driverAccount(driver, "available"), amount + PAYOUT_FEE_CENTS);
      move(platformAccount("payouts_in_transit"), -amount);
      move(platformAccount("revenue"), -PAYOUT_FEE_CENTS);
    }

    async function payoutOutcome() {
      if (inTransit.size === 0) return payout();
      const id = rng.pick([...inTransit.keys()]);
      const p = inTransit.get(id);
      if (!p) throw new Error("unreachable");
      const outcome: PayoutOutcome = rng.chance(0.75)
        ? { status: "paid" }
        : { status: "failed", reason: "account_closed" };
      const view = await completePayout(ctx, id, outcome);
      expect(view.status).toBe(outcome.status);
      inTransit.delete(id);
      if (outcome.status === "paid") paid(p.amount);
      else failed(p.driver, p.amount);
      replays.push(async () => {
        expect((await completePayout(ctx, id, outcome)).status).toBe(outcome.status);
      });
      count(outcome.status === "paid" ? "payoutPaidLater" : "payoutFailedLater");
    }

    /** MED: the payer's bank takes a released ride's money back, into the driver's debt if need be. */
    async function clawback() {
      const candidates = [...settlements.values()].filter((s) => s.released && !s.clawedBack);
      if (candidates.length === 0) return ride("pix");
      const s = rng.pick(candidates);
      const posting: Posting = {
        idempotencyKey: `ride:${s.ride.id}:clawback`,
        kind: "ride.clawback",
        reference: { type: "ride", id: s.ride.id },
        effectiveAt: nowDate(),
        lines: [
          { account: platformAccount("efi_balance"), amount: -s.ride.fare },
          { account: driverAccount(s.driver, "available"), amount: s.amount },
          { account: platformAccount("revenue"), amount: s.ride.commission },
        ],
      };
      const result = await post(ctx, posting);
      s.clawedBack = true;
      move(platformAccount("efi_balance"), -s.ride.fare);
      move(driverAccount(s.driver, "available"), -s.amount);
      move(platformAccount("revenue"), -s.ride.commission);
      replays.push(async () => {
        expect(await post(ctx, posting)).toEqual({ transactionId: result.transactionId, replayed: true });
      });
      count("clawback");
    }

    /** Reverses a cash commission (refunded to credit) or a Pix top-up still in clearing. */
    async function reversal() {
      const lastSweep = clearingCutoff("efi_clearing", lastEfiSweepOn ?? "2000-01-01").getTime();
      const unsweptTopups = topups.filter((t) => !t.reversed && t.at > lastSweep);
      const commissions = cashCommissions.filter((c) => !c.reversed);
      if (unsweptTopups.length > 0 && (commissions.length === 0 || rng.chance(0.5))) {
        const t = rng.pick(unsweptTopups);
        const result = await reverse(ctx, t.transactionId, { kind: "credit.topup.returned" });
        t.reversed = true;
        intoClearing("efi_clearing", clock, -t.amount);
        move(driverAccount(t.driver, "credit"), -t.amount);
        replays.push(async () => {
          expect(await reverse(ctx, t.transactionId, { kind: "credit.topup.returned" })).toEqual({
            transactionId: result.transactionId,
            replayed: true,
          });
        });
        count("topupReversed");
      } else if (commissions.length > 0) {
        const c = rng.pick(commissions);
        const posted = await env.DB.prepare("SELECT id FROM ledger_transactions WHERE idempotency_key = ?")
          .bind(`ride:${c.rideId}:cash_commission`)
          .first<{ id: string }>();
        if (!posted) throw new Error(`the cash commission of ${c.rideId} was not posted`);
        const transactionId = posted.id;
        const result = await reverse(ctx, transactionId, { kind: "ride.cash_commission.refund" });
        c.reversed = true;
        move(driverAccount(c.driver, "credit"), c.commission);
        move(platformAccount("revenue"), -c.commission);
        replays.push(async () => {
          expect(await reverse(ctx, transactionId, { kind: "ride.cash_commission.refund" })).toEqual({
            transactionId: result.transactionId,
            replayed: true,
          });
        });
        count("commissionReversed");
      }
    }

    async function replay() {
      if (replays.length === 0) return;
      await rng.pick(replays)();
      count("replay");
    }

    // ---- Nightly: sweep (sometimes missed), release most of what is due, check everything. ---
    let lastEfiSweepOn: string | null = null;
    let missedLastNight = false;
    async function nightly(step: number) {
      const date = today();
      // A missed run now and then (never two in a row: the check's grace is one missed night).
      missedLastNight = !missedLastNight && rng.chance(0.1);
      if (!missedLastNight) {
        const expected = Object.fromEntries(
          (Object.keys(CLEARING_SWEEPS) as ClearingKind[]).map((kind) => {
            const cutoff = clearingCutoff(kind, date).getTime();
            const due = clearingEntries[kind]
              .filter((e) => e.sweep || e.at <= cutoff)
              .reduce((sum, e) => sum + e.amount, 0);
            return [kind, due];
          }),
        ) as Record<ClearingKind, number>;
        const outcomes = await sweepClearing(ctx, date);
        for (const kind of Object.keys(CLEARING_SWEEPS) as ClearingKind[]) {
          const outcome = outcomes[kind];
          if (expected[kind] === 0) {
            expect(outcome.status, `${kind} sweep on ${date}`).toBe("nothing_due");
            continue;
          }
          expect(outcome, `${kind} sweep on ${date}`).toMatchObject({
            status: "swept",
            amountCents: expected[kind],
          });
          // The sweep closes the previous business day: effective one millisecond before midnight.
          const sweptAt = startOfBusinessDate(date).getTime() - 1;
          clearingEntries[kind].push({ at: sweptAt, amount: -expected[kind], sweep: true });
          move(platformAccount(kind), -expected[kind]);
          move(platformAccount(CLEARING_SWEEPS[kind].into), expected[kind]);
          count(`${kind}Sweep`);
        }
        if (outcomes.efi_clearing.status !== "already_swept") lastEfiSweepOn = date;
        replays.push(async () => {
          const again = await sweepClearing(ctx, date);
          expect(again.efi_clearing.status).not.toBe("swept");
          expect(again.card_clearing.status).not.toBe("swept");
        });
      } else {
        count("sweepMissed");
      }
      // Most of what is due is released tonight, in pages as the queue consumer does.
      await learnDueSettlements();
      const tonight = dueToday.filter(() => rng.chance(0.7));
      for (let i = 0; i < tonight.length; i += 100) {
        const page = tonight.slice(i, i + 100);
        const summary = await releaseSettlements(
          ctx,
          page.map((s) => s.id ?? ""),
          date,
        );
        expect(summary, `releases on ${date}`).toMatchObject({ released: page.length, failed: [] });
        for (const s of page) released(s);
        count("releasePage");
      }
      const tc = Date.now();
      const report = await checkLedger(ctx, { now: nowDate(), ...SIMULATION_LIMITS });
      timing.check = (timing.check ?? 0) + Date.now() - tc;
      expect(report.breaches, `ledger check on ${date}, step ${step} (seed ${SEED})`).toEqual([]);
      await expectModelMatches(`the night of ${date}, step ${step}`);
      count("nightly");
    }

    // ---- The walk ---------------------------------------------------------------------------
    const started = Date.now();
    const timing: Record<string, number> = {};
    for (let step = 0; step < OPERATIONS; step++) {
      const before = clock;
      clock += rng.int(1, 50) * MINUTE;
      const midnight = Math.floor((clock - 3 * 60 * MINUTE) / DAY) * DAY + 3 * 60 * MINUTE;
      if (midnight > before) {
        const after = clock;
        clock = midnight;
        await nightly(step);
        clock = after;
      }
      const operation: Operation = rng.weighted(WEIGHTS);
      const t0 = Date.now();
      try {
        switch (operation) {
          case "pixRide":
            await ride("pix");
            break;
          case "cardRide":
            await ride("card");
            break;
          case "cashRide":
            await cashRide();
            break;
          case "topup":
            await topup();
            break;
          case "release":
            await release();
            break;
          case "payout":
            await payout();
            break;
          case "payoutOutcome":
            await payoutOutcome();
            break;
          case "clawback":
            await clawback();
            break;
          case "reversal":
            await reversal();
            break;
          case "replay":
            await replay();
            break;
        }
        timing[operation] = (timing[operation] ?? 0) + Date.now() - t0;
      } catch (error) {
        throw new Error(`step ${step} (${operation}) failed, seed ${SEED}: ${String(error)}`, {
          cause: error,
        });
      }
    }

    // ---- The end: the model, the payouts table, and every invariant. -------------------------
    await expectModelMatches("the end");
    const transit = await env.DB.prepare(
      "SELECT count(*) AS n, coalesce(sum(amount_cents), 0) AS total FROM payouts WHERE status = 'in_transit'",
    ).first<{ n: number; total: number }>();
    expect(transit).toEqual({
      n: inTransit.size,
      total: [...inTransit.values()].reduce((sum, p) => sum + p.amount, 0),
    });
    await expectLedgerConsistent({ ctx, now: nowDate(), ...SIMULATION_LIMITS });

    const elapsed = Date.now() - started;
    console.log(JSON.stringify({ seed: SEED, operations: OPERATIONS, elapsed_ms: elapsed, stats, timing }));
    // The walk really went everywhere (a change of weights or seed that skips a path shows here).
    for (const name of [
      "pixRide",
      "cardRide",
      "cashRide",
      "topup",
      "release",
      "releasePage",
      "payoutRefused",
      "payoutPaidAtOnce",
      "payoutFailedAtOnce",
      "payoutPaidLater",
      "payoutFailedLater",
      "payoutRailThrew",
      "clawback",
      "releaseIntoDebt",
      "topupReversed",
      "commissionReversed",
      "replay",
      "efi_clearingSweep",
      "card_clearingSweep",
      "sweepMissed",
    ]) {
      expect(stats[name] ?? 0, `${name} never happened (seed ${SEED})`).toBeGreaterThan(0);
    }
  }, 180_000);
});
