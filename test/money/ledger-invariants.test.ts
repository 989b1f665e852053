import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import type { PayoutRail } from "../../src/integrations/payout-rail";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { checkLedger } from "../../src/services/ledger/check";
import type { LedgerInvariant } from "../../src/services/ledger/invariants";
import { post } from "../../src/services/ledger/post";
import { completePayout } from "../../src/services/payouts/complete";
import { requestPayout } from "../../src/services/payouts/request";
import { unique } from "../helpers";
import { expectLedgerConsistent, insertUser } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

// The invariants that tie the ledger to the rows around it. Each test breaks the data the way a
// bug (or a hand-written statement) would, expects the named invariant and only it, and repairs.

const ctx = () => createServiceContext(env);
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

async function report(options: Parameters<typeof checkLedger>[1] = {}) {
  const result = await checkLedger(ctx(), options);
  const names = [...new Set(result.breaches.map((b) => b.invariant))].sort();
  const detail = (invariant: LedgerInvariant) =>
    result.breaches
      .filter((b) => b.invariant === invariant)
      .map((b) => b.detail)
      .join("\n");
  return { result, names, detail };
}

const scene = { driver: "", payment: "", posting: "" };

/** A paid top-up payment with its posting, as the payments queue writes them. */
async function paidTopup(driver: string, cents: number) {
  const payment = `pay_T${unique().toUpperCase()}`;
  const { transactionId } = await post(ctx(), {
    idempotencyKey: `test:${payment}`,
    kind: "credit.topup",
    reference: { type: "payment", id: payment },
    effectiveAt: new Date(),
    lines: [
      { account: platformAccount("efi_clearing"), amount: cents },
      { account: driverAccount(driver, "credit"), amount: -cents },
    ],
  });
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO payments (id, purpose, payer_id, method, status, amount_cents, ledger_transaction_id, created_at, updated_at, paid_at) VALUES (?, 'credit_topup', ?, 'pix', 'paid', ?, ?, ?, ?, ?)",
  )
    .bind(payment, driver, cents, transactionId, now, now, now)
    .run();
  return { payment, transactionId };
}

beforeAll(async () => {
  scene.driver = await insertUser("driver");
  const paid = await paidTopup(scene.driver, 1000);
  scene.payment = paid.payment;
  scene.posting = paid.transactionId;
});

afterEach(async () => {
  await expectLedgerConsistent();
});

const setPayment = (columns: string, ...values: unknown[]) =>
  env.DB.prepare(`UPDATE payments SET ${columns} WHERE id = ?`)
    .bind(...values, scene.payment)
    .run();

describe("a clean ledger", () => {
  it("passes every invariant, and the seeded holidays reach more than a year ahead", async () => {
    const { result } = await report();
    expect(result).toEqual({ ok: true, checked_at: expect.any(String), breaches: [], warnings: [] });
  });
});

describe("payment_posted", () => {
  it("a paid payment without its posting", async () => {
    await setPayment("ledger_transaction_id = NULL");
    const { names, detail } = await report();
    expect(names).toEqual(["payment_posted"]);
    expect(detail("payment_posted")).toBe(
      `1 payments disagree with their postings: ${scene.payment} (paid: paid without a posting)`,
    );
    await setPayment("ledger_transaction_id = ?", scene.posting);
  });

  it("a second payment claiming the same posting, and a posting of another amount", async () => {
    const other = `pay_T${unique().toUpperCase()}`;
    const now = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO payments (id, purpose, payer_id, method, status, amount_cents, ledger_transaction_id, created_at, updated_at) VALUES (?, 'credit_topup', ?, 'pix', 'paid', 1001, ?, ?, ?)",
    )
      .bind(other, scene.driver, scene.posting, now, now)
      .run();
    const { names, detail } = await report();
    expect(names).toEqual(["payment_posted"]);
    expect(detail("payment_posted")).toContain(
      `${other} (paid: its posting ${scene.posting} also serves another payment)`,
    );
    expect(detail("payment_posted")).toContain(
      `${scene.payment} (paid: its posting ${scene.posting} also serves`,
    );
    await env.DB.prepare("UPDATE payments SET ledger_transaction_id = NULL, status = 'pending' WHERE id = ?")
      .bind(other)
      .run();
    expect((await report()).names).toEqual([]);
    await env.DB.prepare("UPDATE payments SET status = 'paid', ledger_transaction_id = ? WHERE id = ?")
      .bind(scene.posting, other)
      .run();
    await setPayment("ledger_transaction_id = NULL, status = 'pending'");
    const mismatch = await report();
    expect(mismatch.names).toEqual(["payment_posted"]);
    expect(mismatch.detail("payment_posted")).toBe(
      `1 payments disagree with their postings: ${other} (paid: its posting ${scene.posting} is not for 1001 centavos)`,
    );
    await env.DB.prepare("DELETE FROM payments WHERE id = ?").bind(other).run();
    await setPayment("ledger_transaction_id = ?, status = 'paid'", scene.posting);
  });

  it("a payment marked pending that was posted", async () => {
    await setPayment("status = 'pending'");
    const { names, detail } = await report();
    expect(names).toEqual(["payment_posted"]);
    expect(detail("payment_posted")).toContain(`${scene.payment} (pending: posted but pending)`);
    await setPayment("status = 'paid'");
  });
});

describe("refunds_posted", () => {
  it("refunded_cents raised without a confirmed refund, then a refund confirmed without a posting", async () => {
    await setPayment("refunded_cents = 300, status = 'partially_refunded'");
    let { names, detail } = await report();
    expect(names).toEqual(["refunds_posted"]);
    expect(detail("refunds_posted")).toBe(
      `1 payments or refunds disagree: ${scene.payment} (refunded_cents 300 but confirmed refunds add up to 0)`,
    );
    const refund = `rfd_T${unique().toUpperCase()}`;
    const now = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO refunds (id, payment_id, amount_cents, status, created_at, updated_at) VALUES (?, ?, 300, 'refunded', ?, ?)",
    )
      .bind(refund, scene.payment, now, now)
      .run();
    ({ names, detail } = await report());
    expect(names).toEqual(["refunds_posted"]);
    expect(detail("refunds_posted")).toBe(
      `1 payments or refunds disagree: ${refund} (refunded without a posting)`,
    );
    await env.DB.prepare("DELETE FROM refunds WHERE id = ?").bind(refund).run();
    await setPayment("refunded_cents = 0, status = 'paid'");
  });

  it("a payment marked refunded with only part of it back", async () => {
    await setPayment("status = 'refunded'");
    const { names, detail } = await report();
    expect(names).toEqual(["refunds_posted"]);
    expect(detail("refunds_posted")).toContain(`${scene.payment} (refunded with 0 of 1000 back)`);
    await setPayment("status = 'paid'");
  });
});

describe("settlement_consistent: pending is exactly what is scheduled", () => {
  it("pending credited without a settlement (more pending than scheduled)", async () => {
    const driver = await insertUser("driver");
    const { transactionId } = await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "ride.payment",
      reference: { type: "test", id: driver },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_clearing"), amount: 700 },
        { account: driverAccount(driver, "pending"), amount: -700 },
      ],
    });
    const { names, detail } = await report();
    expect(names).toEqual(["settlement_consistent"]);
    expect(detail("settlement_consistent")).toBe(
      `1 drivers' pending balances are not what is scheduled for release: ${driver} (scheduled 0, pending 700)`,
    );
    // The repair: the settlement that should have been scheduled with it.
    await env.DB.prepare(
      "INSERT INTO settlements (id, driver_id, source_transaction_id, amount_cents, due_on, status, created_at) VALUES (?, ?, ?, 700, '2030-01-02', 'scheduled', ?)",
    )
      .bind(`stl_T${unique().toUpperCase()}`, driver, transactionId, new Date().toISOString())
      .run();
  });
});

describe("nothing_stuck", () => {
  it("a payout in transit for more than a day", async () => {
    const driver = await insertUser("driver");
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.fund",
      reference: { type: "test", id: driver },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_balance"), amount: 5000 },
        { account: driverAccount(driver, "available"), amount: -5000 },
      ],
    });
    const silent: PayoutRail = {
      name: "silent",
      send: async () => {
        throw new Error("no answer");
      },
    };
    await allowPayoutsTo(driver, "driver@pix.test");
    const payout = await requestPayout({ ...ctx(), payoutRail: silent }, driver, {
      amountCents: 2000,
      pixKey: "driver@pix.test",
    });
    expect(payout.status).toBe("in_transit");
    expect((await report({ now: new Date(Date.now() + 23 * HOUR) })).names).toEqual([]);
    const late = await report({ now: new Date(Date.now() + 25 * HOUR) });
    expect(late.names).toEqual(["nothing_stuck"]);
    expect(late.detail("nothing_stuck")).toMatch(
      /^1 payouts_in_transit for more than 24 hours \(oldest since /,
    );
    await completePayout(ctx(), payout.id, { status: "paid" });
  });

  it("a refund processing, a webhook item received and a card payment pending for too long", async () => {
    const long = new Date(Date.now() - 4 * DAY).toISOString();
    const refund = `rfd_T${unique().toUpperCase()}`;
    const card = `pay_T${unique().toUpperCase()}`;
    const webhook = `whk_T${unique().toUpperCase()}`;
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO refunds (id, payment_id, amount_cents, status, created_at, updated_at) VALUES (?, ?, 100, 'processing', ?, ?)",
      ).bind(refund, scene.payment, long, long),
      env.DB.prepare(
        "INSERT INTO payments (id, purpose, payer_id, method, status, amount_cents, created_at, updated_at) VALUES (?, 'credit_topup', ?, 'card', 'pending', 500, ?, ?)",
      ).bind(card, scene.driver, long, long),
      env.DB.prepare(
        "INSERT INTO webhook_events (id, kind, end_to_end_id, payload, status, received_at) VALUES (?, 'pix_received', ?, '{}', 'received', ?)",
      ).bind(webhook, `E${unique()}`, long),
    ]);
    const { names, detail } = await report();
    expect(names).toEqual(["nothing_stuck"]);
    expect(detail("nothing_stuck").split("\n")).toEqual([
      `1 refunds_processing for more than 72 hours (oldest since ${long})`,
      `1 webhook_items_received for more than 2 hours (oldest since ${long})`,
      `1 card_payments_pending for more than 24 hours (oldest since ${long})`,
    ]);
    await env.DB.batch([
      env.DB.prepare("DELETE FROM refunds WHERE id = ?").bind(refund),
      env.DB.prepare("DELETE FROM payments WHERE id = ?").bind(card),
      env.DB.prepare("DELETE FROM webhook_events WHERE id = ?").bind(webhook),
    ]);
  });
});

describe("driver_debt_aged", () => {
  it("a driver whose available balance has been in debt for more than 30 days", async () => {
    const driver = await insertUser("driver");
    const longAgo = new Date(Date.now() - 31 * DAY);
    await post(
      { ...ctx(), now: () => longAgo },
      {
        idempotencyKey: `test:${unique()}`,
        kind: "ride.clawback",
        reference: { type: "test", id: driver },
        effectiveAt: longAgo,
        lines: [
          { account: driverAccount(driver, "available"), amount: 900 },
          { account: platformAccount("efi_balance"), amount: -900 },
        ],
      },
    );
    expect((await report({ debtLimitDays: 32 })).names).toEqual([]);
    const { names, detail } = await report();
    expect(names).toEqual(["driver_debt_aged"]);
    expect(detail("driver_debt_aged")).toBe(
      `1 driver balances in debt for more than 30 days: driver:${driver}:available (-900 since ${longAgo.toISOString()})`,
    );
    // Earnings released since bring it back to zero: no longer in debt.
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.fund",
      reference: { type: "test", id: driver },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_balance"), amount: 900 },
        { account: driverAccount(driver, "available"), amount: -900 },
      ],
    });
  });
});

describe("credit_floor_current", () => {
  it("credit accounts left on an old floor when the setting moved without them", async () => {
    const credit = `driver:${scene.driver}:credit`;
    await env.DB.prepare("UPDATE settlement_config SET credit_floor_cents = -500 WHERE id = 1").run();
    const { names, detail } = await report();
    expect(names).toEqual(["credit_floor_current"]);
    expect(detail("credit_floor_current")).toContain(`${credit} (floor -2000, configured -500)`);
    await env.DB.prepare("UPDATE settlement_config SET credit_floor_cents = -2000 WHERE id = 1").run();
  });
});

describe("clearing_matches_efi", () => {
  it("a day on which Pix clearing took in more than Efí's statement lists as received", async () => {
    // The scene's top-up of 1000 came into clearing today; Efí's figures for today, recorded
    // after the day ended, say 999 (and a day it says more than we took is fine).
    const now = new Date();
    const today = new Date(now.getTime() - 3 * HOUR).toISOString().slice(0, 10);
    const taken = await env.DB.prepare(
      "SELECT coalesce(sum(amount), 0) AS total FROM ledger_entries WHERE account_id = 'platform:platform:efi_clearing' AND amount > 0 AND effective_at >= ? AND effective_at < ?",
    )
      .bind(`${today}T03:00:00.000Z`, new Date(Date.parse(`${today}T03:00:00.000Z`) + DAY).toISOString())
      .first<number>("total");
    const after = new Date(Date.parse(`${today}T03:00:00.000Z`) + DAY + HOUR).toISOString();
    const write = (cents: number, updatedAt: string) =>
      env.DB.prepare(
        "INSERT INTO efi_daily_totals (day, received_cents, received_count, refunded_cents, updated_at) VALUES (?, ?, 1, 0, ?) ON CONFLICT (day) DO UPDATE SET received_cents = excluded.received_cents, updated_at = excluded.updated_at",
      )
        .bind(today, cents, updatedAt)
        .run();
    // Recorded while the day was still running: not judged yet.
    await write((taken ?? 0) - 1, now.toISOString());
    expect((await report()).names).toEqual([]);
    await write((taken ?? 0) - 1, after);
    const { names, detail } = await report();
    expect(names).toEqual(["clearing_matches_efi"]);
    expect(detail("clearing_matches_efi")).toBe(
      `1 days took more into Pix clearing than Efí received: ${today} (ledger ${taken}, Efí ${(taken ?? 0) - 1})`,
    );
    await write((taken ?? 0) + 500, after);
    expect((await report()).names).toEqual([]);
    await env.DB.prepare("DELETE FROM efi_daily_totals WHERE day = ?").bind(today).run();
  });
});

describe("warnings", () => {
  it("holidays_running_out when the list reaches less than a year ahead; not a breach", async () => {
    const saved = await env.DB.prepare("SELECT holidays FROM settlement_config WHERE id = 1").first<string>(
      "holidays",
    );
    await env.DB.prepare("UPDATE settlement_config SET holidays = ? WHERE id = 1")
      .bind(JSON.stringify(["2026-12-25", "2027-01-01"]))
      .run();
    const { result } = await report({ now: new Date("2026-06-01T12:00:00Z") });
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      {
        warning: "holidays_running_out",
        detail:
          "the holiday list ends on 2027-01-01; settlement dates need it through 2027-06-01 (PUT /v1/admin/settlement-config)",
      },
    ]);
    await env.DB.prepare("UPDATE settlement_config SET holidays = ? WHERE id = 1").bind(saved).run();
    // The seeded list runs through 2030: no warning until 2030.
    expect((await report({ now: new Date("2029-12-01T12:00:00Z") })).result.warnings).toEqual([]);
    expect((await report({ now: new Date("2030-01-01T12:00:00Z") })).result.warnings).toHaveLength(1);
  });
});
