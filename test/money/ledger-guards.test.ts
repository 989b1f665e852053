import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { ApiError } from "../../src/lib/problem";
import { accountId, driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { type Posting, post } from "../../src/services/ledger/post";
import { reverse } from "../../src/services/ledger/reverse";
import { unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";

// Each test writes, by hand, a statement that goes around the posting code, and expects the
// database to refuse it and leave the money where it was.

const ctx = () => createServiceContext(env);

function fund(driverId: string, cents: number, kind = "test.fund"): Posting {
  return {
    idempotencyKey: `test:${unique()}`,
    kind,
    reference: { type: "test", id: driverId },
    effectiveAt: new Date(),
    lines: [
      { account: platformAccount("efi_clearing"), amount: cents },
      { account: driverAccount(driverId, "available"), amount: -cents },
    ],
  };
}

const available = (driver: string) => accountId(driverAccount(driver, "available"));

async function account(id: string) {
  return env.DB.prepare(
    "SELECT balance, version, floor, normal_side, kind, last_entry_id FROM ledger_accounts WHERE id = ?",
  )
    .bind(id)
    .first<{ balance: number; version: number; floor: number | null; normal_side: string; kind: string }>();
}

describe("the database refuses writes around the ledger", () => {
  it("a balance nudged with its version bumped (balance + 7, version + 1)", async () => {
    const driver = `usr_${unique()}`;
    await post(ctx(), fund(driver, 1000));
    const before = await account(available(driver));
    for (const statement of [
      "UPDATE ledger_accounts SET balance = balance + 7, version = version + 1 WHERE id = ?",
      "UPDATE ledger_accounts SET balance = balance - 1000, version = version + 1, last_entry_id = last_entry_id + 1 WHERE id = ?",
      // Replaying the last entry's amount a second time: that entry is already applied.
      "UPDATE ledger_accounts SET balance = balance + 1000, version = version + 1 WHERE id = ?",
      "UPDATE ledger_accounts SET version = version + 5 WHERE id = ?",
    ]) {
      await expect(env.DB.prepare(statement).bind(available(driver)).run()).rejects.toThrow(
        /balances change only through entries/,
      );
    }
    expect(await account(available(driver))).toEqual(before);
    await expectLedgerConsistent();
  });

  it("an entry appended to a transaction that is already posted", async () => {
    const driver = `usr_${unique()}`;
    const { transactionId } = await post(ctx(), fund(driver, 1000));
    const at = new Date().toISOString();
    // A balanced pair, so only the closed transaction can be the reason for the refusal.
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, -500, 0, ?, ?)",
        ).bind(transactionId, available(driver), at, at),
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, 'platform:platform:efi_clearing', 500, 0, ?, ?)",
        ).bind(transactionId, at, at),
      ]),
    ).rejects.toThrow(/ledger_transaction_closed/);
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(1000);
  });

  it("INSERT OR REPLACE of an entry (which would delete it without the no-delete trigger)", async () => {
    const driver = `usr_${unique()}`;
    const { transactionId } = await post(ctx(), fund(driver, 1000));
    const entry = await env.DB.prepare("SELECT * FROM ledger_entries WHERE account_id = ?")
      .bind(available(driver))
      .first<{ id: number; amount: number; effective_at: string; created_at: string }>();
    if (!entry) throw new Error("no entry");
    await expect(
      env.DB.prepare(
        "INSERT OR REPLACE INTO ledger_entries (id, transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, ?, -1, 0, ?, ?)",
      )
        .bind(entry.id, transactionId, available(driver), entry.effective_at, entry.created_at)
        .run(),
    ).rejects.toThrow(/ledger_entries cannot be replaced|ledger_transaction_closed/);
    // Also into a transaction still open (opened in the same batch, rolled back with it), so the
    // closed-transaction rule is not what stops it.
    const open = `txn_OPEN${unique().toUpperCase()}`;
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES (?, ?, 'h', 'test.open', 'test', 'x', ?, ?)",
        ).bind(open, `test:${open}`, entry.created_at, entry.created_at),
        env.DB.prepare(
          "REPLACE INTO ledger_entries (id, transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, ?, -1, 0, ?, ?)",
        ).bind(entry.id, open, available(driver), entry.effective_at, entry.created_at),
      ]),
    ).rejects.toThrow(/ledger_entries cannot be replaced/);
    const after = await env.DB.prepare("SELECT amount, transaction_id FROM ledger_entries WHERE id = ?")
      .bind(entry.id)
      .first();
    expect(after).toEqual({ amount: entry.amount, transaction_id: transactionId });
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(1000);
  });

  it("INSERT OR REPLACE of a transaction, a closing row or an account", async () => {
    const driver = `usr_${unique()}`;
    const { transactionId } = await post(ctx(), fund(driver, 1000));
    await expect(
      env.DB.prepare(
        "INSERT OR REPLACE INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES (?, ?, 'h', 'x', 'test', 'x', '2026-01-01', '2026-01-01')",
      )
        .bind(transactionId, `test:${unique()}`)
        .run(),
    ).rejects.toThrow(/ledger_transactions\.id/);
    await expect(
      env.DB.prepare("INSERT OR REPLACE INTO ledger_posting_checks (transaction_id) VALUES (?)")
        .bind(transactionId)
        .run(),
    ).rejects.toThrow(/ledger_posting_checks\.transaction_id/);
    await expect(
      env.DB.prepare(
        "INSERT OR REPLACE INTO ledger_accounts (id, owner_type, owner_id, kind, normal_side, balance, version, floor, created_at) VALUES (?, 'driver', ?, 'available', 'credit', 0, 0, 0, '2026-01-01')",
      )
        .bind(available(driver), driver)
        .run(),
    ).rejects.toThrow(/ledger_accounts cannot be replaced/);
    await expect(
      env.DB.prepare("DELETE FROM ledger_accounts WHERE id = ?").bind(available(driver)).run(),
    ).rejects.toThrow(/ledger_accounts cannot be deleted/);
    // A new account with a balance it never earned.
    await expect(
      env.DB.prepare(
        "INSERT INTO ledger_accounts (id, owner_type, owner_id, kind, normal_side, balance, version, floor, created_at) VALUES (?, 'driver', ?, 'pending', 'credit', 5000, 0, 0, '2026-01-01')",
      )
        .bind(`driver:${driver}:pending`, driver)
        .run(),
    ).rejects.toThrow(/an account opens empty/);
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(1000);
    await expectLedgerConsistent();
  });

  it("an account's floor, normal side, kind or owner changed", async () => {
    const driver = `usr_${unique()}`;
    await post(ctx(), fund(driver, 1000));
    for (const statement of [
      "UPDATE ledger_accounts SET floor = -100000 WHERE id = ?",
      "UPDATE ledger_accounts SET floor = NULL WHERE id = ?",
      "UPDATE ledger_accounts SET normal_side = 'debit' WHERE id = ?",
      "UPDATE ledger_accounts SET kind = 'credit' WHERE id = ?",
      "UPDATE ledger_accounts SET owner_id = 'usr_someone_else' WHERE id = ?",
      "UPDATE ledger_accounts SET owner_type = 'platform' WHERE id = ?",
    ]) {
      await expect(env.DB.prepare(statement).bind(available(driver)).run()).rejects.toThrow(
        /ledger_account_immutable/,
      );
    }
    expect(await account(available(driver))).toMatchObject({
      floor: 0,
      normal_side: "credit",
      kind: "available",
    });
  });

  it("a driver's credit floor moves only to the configured credit floor", async () => {
    const driver = `usr_${unique()}`;
    await post(ctx(), {
      ...fund(driver, 1000, "credit.topup"),
      lines: [
        { account: platformAccount("efi_clearing"), amount: 1000 },
        { account: driverAccount(driver, "credit"), amount: -1000 },
      ],
    });
    const credit = accountId(driverAccount(driver, "credit"));
    await expect(
      env.DB.prepare("UPDATE ledger_accounts SET floor = -999999 WHERE id = ?").bind(credit).run(),
    ).rejects.toThrow(/ledger_account_immutable: floor/);
    const configured = await env.DB.prepare(
      "SELECT credit_floor_cents AS f FROM settlement_config",
    ).first<number>("f");
    await env.DB.prepare("UPDATE ledger_accounts SET floor = ? WHERE id = ?").bind(configured, credit).run();
    expect((await account(credit))?.floor).toBe(configured);
  });

  it("an entry claiming a floor waiver its account and kind do not allow", async () => {
    const driver = `usr_${unique()}`;
    await post(ctx(), fund(driver, 1000));
    const txn = `txn_RAW${unique().toUpperCase()}`;
    const at = new Date().toISOString();
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES (?, ?, 'h', 'payout.request', 'test', 'x', ?, ?)",
        ).bind(txn, `test:${txn}`, at, at),
        // Takes 5000 out of an available balance of 1000, "with the floor off".
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, 5000, 0, ?, ?)",
        ).bind(txn, available(driver), at, at),
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, 'platform:platform:payouts_in_transit', -5000, 0, ?, ?)",
        ).bind(txn, at, at),
        env.DB.prepare("INSERT INTO ledger_posting_checks (transaction_id) VALUES (?)").bind(txn),
      ]),
    ).rejects.toThrow(/ledger_floor_waiver_refused/);
    // Claiming the floor is enforced does not help either: the trigger refuses the overdraft.
    const txn2 = `txn_RAW${unique().toUpperCase()}`;
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES (?, ?, 'h', 'payout.request', 'test', 'x', ?, ?)",
        ).bind(txn2, `test:${txn2}`, at, at),
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES (?, ?, 5000, 1, ?, ?)",
        ).bind(txn2, available(driver), at, at),
      ]),
    ).rejects.toThrow(/ledger_floor_breached/);
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(1000);
  });

  it("reverse() cannot overdraw a guarded balance: a reversal keeps the floor", async () => {
    const driver = `usr_${unique()}`;
    const funded = await post(ctx(), fund(driver, 1000));
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.spend",
      reference: { type: "test", id: driver },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "available"), amount: 800 },
        { account: platformAccount("revenue"), amount: -800 },
      ],
    });
    const error = await reverse(ctx(), funded.transactionId).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("insufficient_funds");
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(200);
    // The same reversal named a clawback may take the driver into debt: it records a MED.
    await reverse(ctx(), funded.transactionId, { kind: "ride.clawback" });
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(-800);
    await expectLedgerConsistent();
  });
});
