import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { ApiError } from "../../src/lib/problem";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceAt, balanceOf } from "../../src/services/ledger/balances";
import { post } from "../../src/services/ledger/post";
import {
  dueSettlementIds,
  RELEASE_GROUP_SIZE,
  releaseSettlement,
  releaseSettlements,
} from "../../src/services/settlements/release";
import {
  CARD_CLEARING_WINDOW_DAYS,
  clearingCutoff,
  clearingDue,
  EFI_CLEARING_WINDOW_DAYS,
  sweepClearing,
  sweepKey,
} from "../../src/services/settlements/sweep";
import { unique } from "../helpers";
import { expectLedgerConsistent, insertUser, postPaidRide } from "../money-helpers";

/** A service context whose clock reads `at`. */
function ctxAt(at: string | Date): ServiceContext {
  const fixed = new Date(at);
  return { ...createServiceContext(env), now: () => fixed };
}

/**
 * The ledger side of a confirmed Pix ride payment, as the payments service writes it: clearing ←
 * fare, driver pending ← share, revenue ← commission, and the share's settlement scheduled D+N in
 * the same batch. Returns the settlement row.
 */
async function paidRide(driverId: string, confirmedAt: string, share = 1600, commission = 400) {
  const { transactionId } = await postPaidRide(driverId, confirmedAt, share, commission);
  return settlementBySource(transactionId);
}

async function settlementBySource(sourceTransactionId: string) {
  const row = await env.DB.prepare("SELECT * FROM settlements WHERE source_transaction_id = ?")
    .bind(sourceTransactionId)
    .first<{
      id: string;
      driver_id: string;
      amount_cents: number;
      due_on: string;
      status: string;
      release_transaction_id: string | null;
      released_at: string | null;
    }>();
  if (!row) throw new Error("no settlement was scheduled");
  return row;
}

const settlementRow = (id: string) =>
  env.DB.prepare("SELECT status, release_transaction_id, released_at FROM settlements WHERE id = ?")
    .bind(id)
    .first<{ status: string; release_transaction_id: string | null; released_at: string | null }>();

const releaseTransactions = (settlementId: string) =>
  env.DB.prepare("SELECT id, kind, effective_at FROM ledger_transactions WHERE idempotency_key = ?")
    .bind(`settlement:${settlementId}`)
    .all<{ id: string; kind: string; effective_at: string }>()
    .then((r) => r.results);

async function balances(driverId: string) {
  const ctx = createServiceContext(env);
  return {
    pending: await balanceOf(ctx, driverAccount(driverId, "pending")),
    available: await balanceOf(ctx, driverAccount(driverId, "available")),
  };
}

/**
 * The ledger check at the end of each test. Payments here are dated in November 2026 and only
 * the sweep test empties clearing, so the other tests judge clearing as of a moment before them.
 */
const CHECKED_BEFORE_PAYMENTS = new Date("2026-11-01T00:00:00Z");

describe("scheduling", () => {
  it("schedules the driver's share D+N business days after the São Paulo date of confirmation", async () => {
    const driver = await insertUser();
    // 02:30 UTC on Friday the 27th is still Thursday the 26th in São Paulo: D+2 → Monday the 30th.
    const late = await paidRide(driver, "2026-11-27T02:30:00Z");
    expect(late).toMatchObject({
      driver_id: driver,
      amount_cents: 1600,
      due_on: "2026-11-30",
      status: "scheduled",
    });
    // Thursday the 19th + 2 skips Friday the 20th (Consciência Negra, a configured holiday).
    const holiday = await paidRide(driver, "2026-11-19T15:00:00Z");
    expect(holiday.due_on).toBe("2026-11-24");
    expect(await balances(driver)).toEqual({ pending: 3200, available: 0 });
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });
});

describe("releasing one settlement", () => {
  it("moves pending → available once, however many times it is called", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-23T15:00:00Z"); // Monday → due Wednesday 25th
    expect(settlement.due_on).toBe("2026-11-25");
    const ctx = ctxAt("2026-11-25T03:00:05Z");

    const first = await releaseSettlement(ctx, settlement.id);
    expect(first.status).toBe("released");
    const second = await releaseSettlement(ctx, settlement.id);
    expect(second).toEqual({
      status: "already_released",
      transactionId: (first as { transactionId: string }).transactionId,
    });

    expect(await balances(driver)).toEqual({ pending: 0, available: 1600 });
    const txns = await releaseTransactions(settlement.id);
    expect(txns).toEqual([
      {
        id: (first as { transactionId: string }).transactionId,
        kind: "settlement.release",
        // The business moment is the due date's São Paulo midnight.
        effective_at: "2026-11-25T03:00:00.000Z",
      },
    ]);
    expect(await settlementRow(settlement.id)).toEqual({
      status: "released",
      release_transaction_id: txns[0]?.id,
      released_at: "2026-11-25T03:00:05.000Z",
    });
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("ten concurrent releases of one settlement move the money once, in one transaction", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-23T16:00:00Z", 2345, 655);
    const ctx = ctxAt("2026-11-26T12:00:00Z");
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => releaseSettlement(ctx, settlement.id)),
    );

    expect(outcomes.filter((o) => o.status === "released")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "already_released")).toHaveLength(9);
    expect(await balances(driver)).toEqual({ pending: 0, available: 2345 });
    const txns = await releaseTransactions(settlement.id);
    expect(txns).toHaveLength(1);
    const ids = new Set(outcomes.map((o) => ("transactionId" in o ? o.transactionId : null)));
    expect([...ids]).toEqual([txns[0]?.id]);
    const entries = await env.DB.prepare(
      "SELECT count(*) AS n, sum(amount) AS s FROM ledger_entries WHERE transaction_id = ?",
    )
      .bind(txns[0]?.id)
      .first();
    expect(entries).toEqual({ n: 2, s: 0 });
    expect((await settlementRow(settlement.id))?.release_transaction_id).toBe(txns[0]?.id);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("leaves a settlement that is not yet due, and a missing one is reported, not invented", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-24T15:00:00Z"); // Tuesday → due Thursday 26th
    expect(settlement.due_on).toBe("2026-11-26");

    // Wednesday 23:59 in São Paulo is still the 25th.
    const early = await releaseSettlement(ctxAt("2026-11-26T02:59:59Z"), settlement.id);
    expect(early).toEqual({ status: "not_due", dueOn: "2026-11-26" });
    expect(await releaseSettlement(ctxAt("2026-11-26T03:00:00Z"), settlement.id, "2026-11-25")).toEqual({
      status: "not_due",
      dueOn: "2026-11-26",
    });
    expect(await balances(driver)).toEqual({ pending: 1600, available: 0 });
    expect((await settlementRow(settlement.id))?.status).toBe("scheduled");
    expect(await releaseTransactions(settlement.id)).toEqual([]);

    expect(await releaseSettlement(ctxAt("2026-11-26T03:00:00Z"), "stl_01JXXXXXXXXXXXXXXXXXXXXXXX")).toEqual({
      status: "missing",
    });
    expect((await releaseSettlement(ctxAt("2026-11-26T03:00:00Z"), settlement.id)).status).toBe("released");
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("a release the pending balance no longer covers is refused whole, and goes through once covered", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-24T17:00:00Z", 1000, 250);
    // A clawback (MED) took 600 of the pending balance meanwhile.
    const clawback = await post(ctxAt("2026-11-25T12:00:00Z"), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.clawback",
      reference: { type: "test", id: driver },
      effectiveAt: new Date("2026-11-25T12:00:00Z"),
      lines: [
        { account: driverAccount(driver, "pending"), amount: 600 },
        { account: platformAccount("revenue"), amount: -600 },
      ],
    });
    const ctx = ctxAt("2026-11-26T12:00:00Z");
    const error = await releaseSettlement(ctx, settlement.id).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("insufficient_funds");
    expect(await balances(driver)).toEqual({ pending: 400, available: 0 });
    expect((await settlementRow(settlement.id))?.status).toBe("scheduled");

    const summary = await releaseSettlements(ctx, [settlement.id], "2026-11-26");
    expect(summary.failed.map((f) => f.settlementId)).toEqual([settlement.id]);

    // The clawback is reversed (disputed in the payer's favour): the retry releases it.
    await post(ctxAt("2026-11-26T13:00:00Z"), {
      idempotencyKey: `reversal:${clawback.transactionId}`,
      kind: "test.clawback.reversal",
      reference: { type: "test", id: driver },
      effectiveAt: new Date("2026-11-26T13:00:00Z"),
      reversesId: clawback.transactionId,
      lines: [
        { account: driverAccount(driver, "pending"), amount: -600 },
        { account: platformAccount("revenue"), amount: 600 },
      ],
    });
    expect((await releaseSettlements(ctx, [settlement.id], "2026-11-26")).released).toBe(1);
    expect(await balances(driver)).toEqual({ pending: 0, available: 1000 });
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });
});

describe("releasing pages of settlements", () => {
  it("pages through due, scheduled settlements by id", async () => {
    const driver = await insertUser();
    const due = [];
    for (let i = 0; i < 5; i += 1) due.push(await paidRide(driver, "2026-11-16T15:00:00Z", 100 + i, 10));
    const later = await paidRide(driver, "2027-03-01T15:00:00Z");
    const released = await paidRide(driver, "2026-11-16T16:00:00Z");
    await releaseSettlement(ctxAt("2026-11-18T12:00:00Z"), released.id);

    const ctx = createServiceContext(env);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await dueSettlementIds(ctx, "2026-11-18", 2, after);
      expect(page.length).toBeLessThanOrEqual(2);
      if (page.length === 0) break;
      seen.push(...page);
      after = page.at(-1);
    }
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (const s of due) expect(seen).toContain(s.id);
    expect(seen).not.toContain(later.id);
    expect(seen).not.toContain(released.id);
    expect(await dueSettlementIds(ctx, "2026-11-17", 100)).not.toContain(due[0]?.id);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("releases a page in grouped batches; two racing runs release each amount once", async () => {
    const driver = await insertUser();
    const count = RELEASE_GROUP_SIZE + 5;
    const rows = [];
    for (let i = 0; i < count; i += 1)
      rows.push(await paidRide(driver, "2026-11-17T15:00:00Z", 1000 + i, 100));
    const total = rows.reduce((sum, r) => sum + r.amount_cents, 0);
    const notDue = await paidRide(driver, "2027-03-02T15:00:00Z", 777, 100);
    const ctx = ctxAt("2026-11-19T03:00:10Z");
    // One of them was released already (an earlier delivery): its group falls back one by one.
    await releaseSettlement(ctx, rows[3]?.id ?? "", "2026-11-19");

    const ids = [...rows.map((r) => r.id), notDue.id, "stl_01JXXXXXXXXXXXXXXXXXXXXXXX"];
    const [a, b] = await Promise.all([
      releaseSettlements(ctx, ids, "2026-11-19"),
      releaseSettlements(ctx, ids, "2026-11-19"),
    ]);
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([]);
    expect(a.released + b.released).toBe(count - 1);
    expect(a.notDue).toBe(1);
    expect(a.missing).toBe(1);

    expect(await balances(driver)).toEqual({ pending: 777, available: total });
    const txns = await env.DB.prepare(
      `SELECT count(*) AS n FROM ledger_transactions WHERE kind = 'settlement.release' AND reference_id IN (${ids.map(() => "?").join(",")})`,
    )
      .bind(...ids)
      .first("n");
    expect(txns).toBe(count);
    const statuses = await env.DB.prepare(
      `SELECT status, count(*) AS n, count(release_transaction_id) AS with_txn FROM settlements WHERE driver_id = ? GROUP BY status ORDER BY status`,
    )
      .bind(driver)
      .all();
    expect(statuses.results).toEqual([
      { status: "released", n: count, with_txn: count },
      { status: "scheduled", n: 1, with_txn: 0 },
    ]);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });
});

describe("clearing sweep", () => {
  it("documents its windows", () => {
    expect(EFI_CLEARING_WINDOW_DAYS).toBe(0);
    expect(CARD_CLEARING_WINDOW_DAYS).toBe(30);
    expect(clearingCutoff("efi_clearing", "2026-12-02").toISOString()).toBe("2026-12-02T02:59:59.999Z");
    expect(clearingCutoff("card_clearing", "2026-12-02").toISOString()).toBe("2026-11-02T02:59:59.999Z");
  });

  it("moves Pix clearing from before today, and card clearing older than 30 days, once per day", async () => {
    const efiClearing = platformAccount("efi_clearing");
    const cardClearing = platformAccount("card_clearing");
    const efiBalance = platformAccount("efi_balance");
    const driver = await insertUser();
    const card = async (at: string, fare: number) =>
      post(ctxAt(at), {
        idempotencyKey: `test:card:${unique()}`,
        kind: "ride.payment",
        reference: { type: "ride", id: `ride_${unique()}` },
        effectiveAt: new Date(at),
        // Only the clearing side matters here; a driver share would need its settlement too
        // (a driver's pending is exactly what is scheduled).
        lines: [
          { account: cardClearing, amount: fare },
          { account: platformAccount("revenue"), amount: -fare },
        ],
      });
    await card("2026-11-01T15:00:00Z", 5000); // more than 30 days before 2026-12-03
    await card("2026-11-20T15:00:00Z", 7000); // within the window
    await paidRide(driver, "2026-12-01T15:00:00Z", 800, 200); // Pix, yesterday
    await paidRide(driver, "2026-12-02T10:00:00Z", 1600, 400); // Pix, today (07:00 in São Paulo)

    const ctx = ctxAt("2026-12-02T03:00:01Z");
    const read = async () => ({
      efi: await balanceOf(ctx, efiClearing),
      card: await balanceOf(ctx, cardClearing),
      bank: await balanceOf(ctx, efiBalance),
    });
    const before = await read();
    // Everything effective before today (São Paulo), this test's Pix of yesterday included.
    const cutoff = clearingCutoff("efi_clearing", "2026-12-02");
    const efiDue = await clearingDue(ctx, "efi_clearing", "2026-12-02");
    expect(efiDue).toBe(await balanceAt(ctx, efiClearing, cutoff));
    expect(efiDue).toBeGreaterThanOrEqual(1000);
    const fromToday = before.efi - efiDue; // today's 2000, and other tests' later payments
    expect(fromToday).toBeGreaterThanOrEqual(2000);

    const first = await sweepClearing(ctx, "2026-12-02");
    expect(first.efi_clearing).toMatchObject({ status: "swept", amountCents: efiDue });
    expect(first.card_clearing).toMatchObject({ status: "swept", amountCents: 5000 });
    const after = await read();
    expect(after).toEqual({ efi: fromToday, card: 7000, bank: before.bank + efiDue + 5000 });
    expect(await balanceAt(ctx, efiClearing, cutoff)).toBe(0);
    const sweepTxn = await env.DB.prepare(
      "SELECT kind, effective_at FROM ledger_transactions WHERE idempotency_key = ?",
    )
      .bind(sweepKey("efi_clearing", "2026-12-02"))
      .first();
    expect(sweepTxn).toEqual({ kind: "clearing.sweep", effective_at: "2026-12-02T02:59:59.999Z" });

    // The same day again, or racing itself: nothing moves twice.
    const again = await Promise.all([sweepClearing(ctx, "2026-12-02"), sweepClearing(ctx, "2026-12-02")]);
    for (const outcome of again) {
      expect(outcome.efi_clearing.status).toBe("already_swept");
      expect(outcome.card_clearing.status).toBe("already_swept");
    }
    expect(await read()).toEqual(after);

    // An older date after a newer one posts nothing (sweeps only go forward).
    expect((await sweepClearing(ctx, "2026-12-01")).efi_clearing).toEqual({
      status: "already_swept",
      lastSweptOn: "2026-12-02",
    });

    // The next night takes today's Pix; two nights racing post one sweep.
    const next = ctxAt("2026-12-03T03:00:01Z");
    const racing = await Promise.all([sweepClearing(next, "2026-12-03"), sweepClearing(next, "2026-12-03")]);
    expect(racing.map((r) => r.efi_clearing.status).sort()).toEqual(["already_swept", "swept"]);
    expect(racing.map((r) => r.card_clearing.status)).toEqual(["nothing_due", "nothing_due"]);
    const todays = await balanceAt(next, efiClearing, clearingCutoff("efi_clearing", "2026-12-03"));
    expect(todays).toBe(0);
    expect(await read()).toEqual({ efi: fromToday - 2000, card: 7000, bank: after.bank + 2000 });

    // A zero balance posts nothing; card money leaves once its 30 days have passed.
    const quiet = await sweepClearing(ctxAt("2026-12-04T03:00:01Z"), "2026-12-04");
    expect(quiet).toEqual({
      efi_clearing: { status: "nothing_due" },
      card_clearing: { status: "nothing_due" },
    });
    const keys = await env.DB.prepare(
      "SELECT count(*) AS n FROM ledger_transactions WHERE idempotency_key LIKE ?",
    )
      .bind("sweep:%:2026-12-04")
      .first("n");
    expect(keys).toBe(0);
    const month = await sweepClearing(ctxAt("2026-12-21T03:00:01Z"), "2026-12-21");
    expect(month.card_clearing).toMatchObject({ status: "swept", amountCents: 7000 });
    expect(await read()).toEqual({ efi: fromToday - 2000, card: 0, bank: after.bank + 2000 + 7000 });

    await expectLedgerConsistent({ now: new Date("2026-12-21T03:00:01Z") });
  });
});
