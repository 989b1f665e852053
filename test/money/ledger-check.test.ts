import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { createDb } from "../../src/db/client";
import { LocalPayoutRail } from "../../src/integrations/payout-rail";
import { ApiError } from "../../src/lib/problem";
import { accountId, driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { checkLedger } from "../../src/services/ledger/check";
import type { LedgerInvariant } from "../../src/services/ledger/invariants";
import { type Posting, post } from "../../src/services/ledger/post";
import {
  recordCreditTopup,
  recordRidePayment,
  transitionStatements,
} from "../../src/services/ledger/ride-postings";
import { requestPayout } from "../../src/services/payouts/request";
import { getSettlementConfig } from "../../src/services/settlements/config";
import { releaseSettlement } from "../../src/services/settlements/release";
import { call, createStaff, expectProblem, registerUser, unique } from "../helpers";
import { expectLedgerConsistent, insertCompletedRide, insertUser } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

const ctx = () => createServiceContext(env);
const HOUR = 60 * 60 * 1000;

/** The invariants a report names, each once, sorted. */
async function breachedInvariants(options: Parameters<typeof checkLedger>[1] = {}) {
  const report = await checkLedger(ctx(), options);
  expect(report.ok).toBe(report.breaches.length === 0);
  return { names: [...new Set(report.breaches.map((b) => b.invariant))].sort(), report };
}

function detailOf(report: Awaited<ReturnType<typeof checkLedger>>, invariant: LedgerInvariant): string {
  return report.breaches
    .filter((b) => b.invariant === invariant)
    .map((b) => b.detail)
    .join("\n");
}

// ---------------------------------------------------------------------------------------------
// Corrupting on purpose, as an operator with direct database access could: the triggers refuse
// edits and deletes, so the writes below go around them (raw rows without the closing check
// row, a version-bumped balance, a nulled floor) and the repairs drop the append-only triggers
// for a moment, then restore them exactly as the migration wrote them.

const APPEND_ONLY_DELETE_TRIGGERS = [
  "ledger_entries_no_delete",
  "ledger_transactions_no_delete",
  "ledger_posting_checks_no_delete",
  "ledger_accounts_guard",
];

/** The trigger that keeps balances, floors and identities of accounts. */
const ACCOUNT_GUARD = ["ledger_accounts_guard"];

async function withoutTriggers<T>(names: string[], fn: () => Promise<T>): Promise<T> {
  const placeholders = names.map(() => "?").join(", ");
  const { results } = await env.DB.prepare(
    `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (${placeholders})`,
  )
    .bind(...names)
    .all<{ name: string; sql: string }>();
  expect(results.map((r) => r.name).sort()).toEqual([...names].sort());
  await env.DB.batch(results.map((r) => env.DB.prepare(`DROP TRIGGER ${r.name}`)));
  try {
    return await fn();
  } finally {
    await env.DB.batch(results.map((r) => env.DB.prepare(r.sql)));
  }
}

/** A transaction written row by row without its closing check row: nothing verifies its balance. */
async function rawTransaction(entries: [account: string, amount: number][], effectiveAt = new Date()) {
  const id = `txn_RAW${unique().toUpperCase()}`;
  const at = effectiveAt.toISOString();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES (?, ?, 'corrupt', 'operator.fix', 'test', ?, ?, ?)",
    ).bind(id, `corrupt:${id}`, id, at, at),
    ...entries.map(([account, amount]) =>
      env.DB.prepare(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, ?, 0, ?, ?)",
      ).bind(id, account, amount, at, at),
    ),
  ]);
  return id;
}

/** Removes a transaction (entries, closing row) and undoes what its entries did to balances. */
async function removeTransaction(transactionId: string) {
  await withoutTriggers(APPEND_ONLY_DELETE_TRIGGERS, async () => {
    const { results } = await env.DB.prepare(
      "SELECT account_id, sum(amount) AS total FROM ledger_entries WHERE transaction_id = ? GROUP BY account_id",
    )
      .bind(transactionId)
      .all<{ account_id: string; total: number }>();
    await env.DB.batch([
      ...results.map((r) =>
        env.DB.prepare(
          "UPDATE ledger_accounts SET balance = balance - (CASE normal_side WHEN 'debit' THEN ? ELSE -? END), version = version + 1 WHERE id = ?",
        ).bind(r.total, r.total, r.account_id),
      ),
      env.DB.prepare("DELETE FROM ledger_posting_checks WHERE transaction_id = ?").bind(transactionId),
      env.DB.prepare("DELETE FROM ledger_entries WHERE transaction_id = ?").bind(transactionId),
      env.DB.prepare("DELETE FROM ledger_transactions WHERE id = ?").bind(transactionId),
    ]);
  });
}

// ---------------------------------------------------------------------------------------------
// One clean ledger for the file, built through the money services: Pix, card and cash rides, a
// top-up, a release, a paid and a failed payout. Each test corrupts it, reads the report, and
// repairs it; afterEach proves it is clean again.

const scene = {
  driver: "",
  passenger: "",
  pixPayment: "",
  topup: "",
  scheduledSettlement: "",
  paidPayout: "",
};

beforeAll(async () => {
  const c = ctx();
  c.payoutRail = new LocalPayoutRail("test");
  scene.driver = await insertUser("driver");
  scene.passenger = await insertUser("passenger");
  const paidAt = new Date(Date.now() - HOUR);

  const pix = await insertCompletedRide(c, {
    driverId: scene.driver,
    passengerId: scene.passenger,
    fareCents: 5000,
    method: "pix",
    completedAt: paidAt,
  });
  scene.pixPayment = (
    await recordRidePayment(c, {
      rideId: pix.id,
      method: "pix",
      amountCents: 5000,
      provider: "efi",
      providerReference: `E${unique()}`,
      confirmedAt: paidAt,
    })
  ).transactionId;
  const card = await insertCompletedRide(c, {
    driverId: scene.driver,
    passengerId: scene.passenger,
    fareCents: 2500,
    method: "card",
    completedAt: paidAt,
  });
  await recordRidePayment(c, {
    rideId: card.id,
    method: "card",
    amountCents: 2500,
    provider: "card",
    providerReference: `ch_${unique()}`,
    confirmedAt: paidAt,
  });
  const cash = await insertCompletedRide(c, {
    driverId: scene.driver,
    passengerId: scene.passenger,
    fareCents: 3000,
    method: "cash",
    completedAt: paidAt,
  });
  const statements = await transitionStatements(c, { ...cash, status: "in_progress" }, cash);
  await c.db.batch(statements as [(typeof statements)[number], ...typeof statements]);
  scene.topup = (
    await recordCreditTopup(c, {
      driverId: scene.driver,
      amountCents: 200,
      providerReference: `topup${unique()}`,
      confirmedAt: paidAt,
    })
  ).transactionId;

  // Release the Pix ride's share (as of its due date), keep the card ride's scheduled.
  const settlements = await env.DB.prepare(
    "SELECT id, source_transaction_id, due_on FROM settlements WHERE driver_id = ? ORDER BY id",
  )
    .bind(scene.driver)
    .all<{ id: string; source_transaction_id: string; due_on: string }>();
  const pixSettlement = settlements.results.find((s) => s.source_transaction_id === scene.pixPayment);
  const cardSettlement = settlements.results.find((s) => s.source_transaction_id !== scene.pixPayment);
  if (!pixSettlement || !cardSettlement) throw new Error("both payments should have scheduled a settlement");
  scene.scheduledSettlement = cardSettlement.id;
  expect((await releaseSettlement(c, pixSettlement.id, pixSettlement.due_on)).status).toBe("released");

  await allowPayoutsTo(scene.driver, "driver@pix.test");
  scene.paidPayout = (
    await requestPayout(c, scene.driver, { amountCents: 1500, pixKey: "driver@pix.test" })
  ).id;
  await allowPayoutsTo(scene.driver, "fail@pix.test");
  const failed = await requestPayout(c, scene.driver, { amountCents: 1000, pixKey: "fail@pix.test" });
  expect(failed.status).toBe("failed");
});

afterEach(async () => {
  await expectLedgerConsistent();
});

describe("checkLedger on a clean ledger", () => {
  it("passes after Pix, card and cash rides, a top-up, a release and payouts", async () => {
    const report = await expectLedgerConsistent();
    expect(report.checked_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // The scenario really moved money through every kind of account it checks.
    const { payoutFeeCents } = await getSettlementConfig(ctx());
    // Pix share 5000 − 20 % = 4000, less a paid payout of 1500 and its fee; the failed one came back.
    expect(await balanceOf(ctx(), driverAccount(scene.driver, "available"))).toBe(
      4000 - 1500 - payoutFeeCents,
    );
    expect(await balanceOf(ctx(), driverAccount(scene.driver, "credit"))).toBe(-600 + 200);
    expect(await balanceOf(ctx(), platformAccount("efi_clearing"))).toBe(5000 + 200);
    expect(await balanceOf(ctx(), platformAccount("card_clearing"))).toBe(2500);
  });

  it("takes the clock from its options, and names its moment", async () => {
    const now = new Date("2026-12-01T03:00:00.000Z");
    const report = await checkLedger(ctx(), { now, clearingWindows: { efi_clearing: 30 } });
    expect(report).toEqual({ ok: true, checked_at: now.toISOString(), breaches: [], warnings: [] });
  });

  it("reads with seventeen aggregate statements in one batch, however many accounts there are", async () => {
    // A D1 binding that counts what reaches it.
    const counted = { prepared: 0, batches: 0, batched: 0 };
    const d1 = new Proxy(env.DB, {
      get(target, name) {
        if (name === "batch") {
          return (statements: D1PreparedStatement[]) => {
            counted.batches += 1;
            counted.batched += statements.length;
            return target.batch(statements);
          };
        }
        if (name === "prepare") counted.prepared += 1;
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const counting = { ...ctx(), db: createDb(d1) };
    const measure = async () => {
      Object.assign(counted, { prepared: 0, batches: 0, batched: 0 });
      expect((await checkLedger(counting)).ok).toBe(true);
      return { ...counted };
    };
    const before = await measure();
    // Every statement prepared went through the one batch: no reads on the side.
    expect(before).toEqual({ prepared: 17, batches: 1, batched: 17 });
    const c = ctx();
    for (let i = 0; i < 30; i++) {
      await post(c, {
        idempotencyKey: `test:${unique()}`,
        kind: "test.earning",
        reference: { type: "test", id: unique() },
        effectiveAt: new Date(),
        lines: [
          { account: platformAccount("revenue"), amount: 100 },
          { account: driverAccount(`usr_${unique()}`, "available"), amount: -100 },
        ],
      });
    }
    expect(await measure()).toEqual(before);
  });
});

describe("checkLedger on deliberately corrupted copies", () => {
  it("global_sum_zero: a transaction written without its closing row, which does not balance", async () => {
    const txn = await rawTransaction([
      [accountId(platformAccount("efi_balance")), 500],
      [accountId(platformAccount("revenue")), -493],
    ]);
    const { names, report } = await breachedInvariants();
    // Entries only exist inside transactions, so a non-zero total always has an unbalanced one.
    expect(names).toEqual(["global_sum_zero", "transaction_balanced"]);
    expect(detailOf(report, "global_sum_zero")).toMatch(/sum to 7 centavos/);
    expect(detailOf(report, "transaction_balanced")).toContain(`${txn} (2 entries, sum 7)`);
    await removeTransaction(txn);
  });

  it("transaction_balanced: two unbalanced transactions that cancel out, one with a single entry", async () => {
    const lopsided = await rawTransaction([
      [accountId(platformAccount("efi_balance")), 300],
      [accountId(platformAccount("revenue")), -290],
    ]);
    const lonely = await rawTransaction([[accountId(platformAccount("revenue")), -10]]);
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["transaction_balanced"]);
    const detail = detailOf(report, "transaction_balanced");
    expect(detail).toMatch(/^2 unbalanced transactions/);
    expect(detail).toContain(`${lopsided} (2 entries, sum 10)`);
    expect(detail).toContain(`${lonely} (1 entries, sum -10)`);
    await removeTransaction(lopsided);
    await removeTransaction(lonely);
  });

  it("cached_balance_matches: a balance nudged by one centavo, the guard dropped", async () => {
    // Revenue, which no other invariant reads (a driver's pending must also equal what is scheduled).
    const pending = accountId(platformAccount("revenue"));
    const nudge = (delta: number) =>
      withoutTriggers(ACCOUNT_GUARD, () =>
        env.DB.prepare("UPDATE ledger_accounts SET balance = balance + ?, version = version + 1 WHERE id = ?")
          .bind(delta, pending)
          .run(),
      );
    await nudge(1);
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["cached_balance_matches"]);
    expect(detailOf(report, "cached_balance_matches")).toMatch(
      new RegExp(`^1 accounts drift from their entries: ${pending} \\(cached (-?\\d+), entries -?\\d+\\)`),
    );

    // The admin route reports the same, with 200: `ok` tells.
    const admin = await createStaff("admin");
    const reply = await call("GET", "/v1/admin/ledger/check", { token: admin.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.ok).toBe(false);
    expect(reply.json.breaches).toEqual([
      { invariant: "cached_balance_matches", detail: expect.stringContaining(pending) },
    ]);
    await nudge(-1);
  });

  it("floor_respected: an account whose floor was removed, then overdrawn by a floor-enforcing posting", async () => {
    const available = accountId(driverAccount(scene.driver, "available"));
    const setFloor = (floor: number | null) =>
      withoutTriggers(ACCOUNT_GUARD, () =>
        env.DB.prepare("UPDATE ledger_accounts SET floor = ? WHERE id = ?").bind(floor, available).run(),
      );
    await setFloor(null);
    let { names, report } = await breachedInvariants();
    expect(names).toEqual(["floor_respected"]);
    expect(detailOf(report, "floor_respected")).toBe(
      `1 accounts lost their floor of 0: ${available} (floor none)`,
    );

    // Unguarded, the database lets a floor-enforcing posting overdraw; restoring the floor
    // afterwards does not hide it: the check replays the account's history.
    const balance = await balanceOf(ctx(), driverAccount(scene.driver, "available"));
    const overdraw = await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "payout.request",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(scene.driver, "available"), amount: balance + 700 },
        { account: platformAccount("payouts_in_transit"), amount: -(balance + 700) },
      ],
    });
    await setFloor(0);
    ({ names, report } = await breachedInvariants());
    // (The payout posting without a payout row is a payout_consistent breach of its own.)
    expect(names).toEqual(["floor_respected", "payout_consistent"]);
    expect(detailOf(report, "floor_respected")).toMatch(
      new RegExp(
        `^1 floor-enforcing entries overdrew: entry \\d+ of ${overdraw.transactionId} left ${available} at -700$`,
      ),
    );
    await removeTransaction(overdraw.transactionId);
  });

  it("floor_respected allows debt taken by lines that record what already happened", async () => {
    // A MED clawback after the driver was paid, and a cash commission below the credit floor,
    // are posted with enforce_floor off: debt, not a breach.
    const driver = await insertUser("driver");
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "ride.clawback",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "available"), amount: 900 },
        { account: driverAccount(driver, "credit"), amount: 5000 },
        { account: platformAccount("efi_balance"), amount: -5900 },
      ],
    });
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(-900);
    expect(await balanceOf(ctx(), driverAccount(driver, "credit"))).toBe(-5000);
    await expectLedgerConsistent();
  });

  it("clearing_settled: a Pix received three days ago and never swept", async () => {
    const paidAt = new Date(Date.now() - 3 * 24 * HOUR);
    const stale = await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "credit.topup",
      reference: { type: "test", id: unique() },
      effectiveAt: paidAt,
      lines: [
        { account: platformAccount("efi_clearing"), amount: 1234 },
        { account: platformAccount("revenue"), amount: -1234 },
      ],
    });
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["clearing_settled"]);
    expect(detailOf(report, "clearing_settled")).toMatch(
      /^platform:platform:efi_clearing still holds 1234 centavos that came in before .* \(window 2 days\)$/,
    );
    // Within a wider window, or seen from the moment it was paid, it is not late yet.
    expect((await breachedInvariants({ clearingWindows: { efi_clearing: 4 } })).names).toEqual([]);
    expect((await breachedInvariants({ now: new Date(paidAt.getTime() + HOUR) })).names).toEqual([]);
    await removeTransaction(stale.transactionId);
  });

  it("clearing_settled: more swept out of card clearing than ever came in", async () => {
    const cardIn = await balanceOf(ctx(), platformAccount("card_clearing"));
    const oversweep = await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "clearing.sweep",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_balance"), amount: cardIn + 50 },
        { account: platformAccount("card_clearing"), amount: -(cardIn + 50) },
      ],
    });
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["clearing_settled"]);
    expect(detailOf(report, "clearing_settled")).toBe(
      "platform:platform:card_clearing is at -50: more left it than came in",
    );
    await removeTransaction(oversweep.transactionId);
  });

  it("settlement_consistent: a settlement marked released with no release posting", async () => {
    const id = `stl_BAD${unique().toUpperCase()}`;
    await env.DB.prepare(
      "INSERT INTO settlements (id, driver_id, source_transaction_id, amount_cents, due_on, status, release_transaction_id, created_at, released_at) VALUES (?, ?, ?, 100, '2026-01-05', 'released', NULL, ?, ?)",
    )
      .bind(id, scene.driver, scene.topup, new Date().toISOString(), new Date().toISOString())
      .run();
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["settlement_consistent"]);
    expect(detailOf(report, "settlement_consistent")).toBe(
      `1 settlements disagree with the ledger: ${id} (released without a release transaction)`,
    );
    await env.DB.prepare("DELETE FROM settlements WHERE id = ?").bind(id).run();
  });

  it("settlement_consistent: more scheduled for release than the driver's pending balance", async () => {
    const pending = await balanceOf(ctx(), driverAccount(scene.driver, "pending"));
    const id = `stl_BAD${unique().toUpperCase()}`;
    await env.DB.prepare(
      "INSERT INTO settlements (id, driver_id, source_transaction_id, amount_cents, due_on, status, created_at) VALUES (?, ?, ?, 1, '2026-01-05', 'scheduled', ?)",
    )
      .bind(id, scene.driver, scene.topup, new Date().toISOString())
      .run();
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["settlement_consistent"]);
    expect(detailOf(report, "settlement_consistent")).toBe(
      `1 drivers' pending balances are not what is scheduled for release: ${scene.driver} (scheduled ${pending + 1}, pending ${pending})`,
    );
    await env.DB.prepare("DELETE FROM settlements WHERE id = ?").bind(id).run();
  });

  it("payout_consistent: a payout in transit that never moved money, and a paid one with no outcome", async () => {
    const now = new Date().toISOString();
    const insert = (id: string, status: string) =>
      env.DB.prepare(
        "INSERT INTO payouts (id, driver_id, amount_cents, fee_cents, pix_key, pix_key_type, status, rail, request_transaction_id, created_at, updated_at) VALUES (?, ?, 800, 0, 'driver@pix.test', 'email', ?, 'local', ?, ?, ?)",
      )
        .bind(id, scene.driver, status, scene.topup, now, now)
        .run();
    const ghost = `pout_BAD${unique().toUpperCase()}`;
    const unfinished = `pout_BAD${unique().toUpperCase()}`;
    await insert(ghost, "in_transit");
    await insert(unfinished, "paid");
    const { names, report } = await breachedInvariants();
    expect(names).toEqual(["payout_consistent"]);
    const detail = detailOf(report, "payout_consistent");
    expect(detail).toContain(
      "1 payouts in transit add up to 800 centavos, but platform:platform:payouts_in_transit is 0",
    );
    expect(detail).toContain(`${unfinished} (paid without an outcome transaction)`);
    await env.DB.prepare("DELETE FROM payouts WHERE id IN (?, ?)").bind(ghost, unfinished).run();
  });
});

describe("floors guard only the lines that lower a balance", () => {
  it("a top-up into credit below its floor is accepted even when it does not reach the floor", async () => {
    const driver = await insertUser("driver");
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "ride.cash_commission",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "credit"), amount: 2500 },
        { account: platformAccount("revenue"), amount: -2500 },
      ],
    });
    await recordCreditTopup(ctx(), {
      driverId: driver,
      amountCents: 300,
      providerReference: `topup${unique()}`,
      confirmedAt: new Date(),
    });
    expect(await balanceOf(ctx(), driverAccount(driver, "credit"))).toBe(-2200);
  });

  it("a release into an available balance in debt is accepted; the pending side stays guarded", async () => {
    const c = ctx();
    const driver = await insertUser("driver");
    const passenger = await insertUser("passenger");
    await post(c, {
      idempotencyKey: `test:${unique()}`,
      kind: "ride.clawback",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "available"), amount: 5000 },
        { account: platformAccount("efi_balance"), amount: -5000 },
      ],
    });
    const ride = await insertCompletedRide(c, {
      driverId: driver,
      passengerId: passenger,
      fareCents: 2000,
      method: "pix",
      completedAt: new Date(),
    });
    const payment = await recordRidePayment(c, {
      rideId: ride.id,
      method: "pix",
      amountCents: 2000,
      provider: "efi",
      providerReference: `E${unique()}`,
      confirmedAt: new Date(),
    });
    const settlement = await env.DB.prepare(
      "SELECT id, due_on FROM settlements WHERE source_transaction_id = ?",
    )
      .bind(payment.transactionId)
      .first<{ id: string; due_on: string }>();
    if (!settlement) throw new Error("the payment should have scheduled a settlement");
    expect((await releaseSettlement(c, settlement.id, settlement.due_on)).status).toBe("released");
    expect(await balanceOf(c, driverAccount(driver, "available"))).toBe(-5000 + payment.driverCents);

    const overdraw: Posting = {
      idempotencyKey: `test:${unique()}`,
      kind: "settlement.release",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "pending"), amount: 1 },
        { account: driverAccount(driver, "available"), amount: -1 },
      ],
    };
    const error = await post(c, overdraw).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("insufficient_funds");
  });
});

describe("GET /v1/admin/ledger/check", () => {
  it.each(["admin", "finance"] as const)("%s may read the report", async (role) => {
    const staff = await createStaff(role);
    const reply = await call("GET", "/v1/admin/ledger/check", { token: staff.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({ ok: true, checked_at: expect.any(String), breaches: [], warnings: [] });
    expect(Date.parse(reply.json.checked_at)).not.toBeNaN();
  });

  it.each(["support", "ops"] as const)("%s is refused with 403", async (role) => {
    const staff = await createStaff(role);
    expectProblem(
      await call("GET", "/v1/admin/ledger/check", { token: staff.accessToken }),
      403,
      "forbidden",
    );
  });

  it.each(["passenger", "driver"] as const)("a %s is refused with 403", async (role) => {
    const user = await registerUser(role);
    expectProblem(await call("GET", "/v1/admin/ledger/check", { token: user.accessToken }), 403, "forbidden");
  });

  it("without a token is 401, with a bad one 401", async () => {
    expectProblem(await call("GET", "/v1/admin/ledger/check"), 401, "authentication_required");
    expectProblem(await call("GET", "/v1/admin/ledger/check", { token: "not-a-jwt" }), 401, "invalid_token");
  });

  it("is in the OpenAPI document with its permission's refusals", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const operation = doc.paths["/v1/admin/ledger/check"]?.get;
    expect(operation).toBeDefined();
    expect(Object.keys(operation.responses).sort()).toEqual(["200", "401", "403", "500", "503"]);
  });
});
