import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { ApiError } from "../../src/lib/problem";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceAt, balanceOf } from "../../src/services/ledger/balances";
import { type Posting, post } from "../../src/services/ledger/post";
import { reverse } from "../../src/services/ledger/reverse";
import { unique } from "../helpers";

const ctx = () => createServiceContext(env);

function payment(driverId: string, fare: number, commission: number, key = `test:${unique()}`): Posting {
  return {
    idempotencyKey: key,
    kind: "ride.payment",
    reference: { type: "ride", id: `ride_${unique()}` },
    effectiveAt: new Date("2026-11-20T12:00:00Z"),
    lines: [
      { account: platformAccount("efi_clearing"), amount: fare },
      { account: driverAccount(driverId, "pending"), amount: -(fare - commission) },
      { account: platformAccount("revenue"), amount: -commission },
    ],
  };
}

describe("ledger postings", () => {
  it("posts balanced entries and moves natural balances", async () => {
    const driver = `usr_${unique()}`;
    const result = await post(ctx(), payment(driver, 2000, 400));
    expect(result.replayed).toBe(false);
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(1600);
    const entries = await env.DB.prepare(
      "SELECT sum(amount) AS s, count(*) AS n FROM ledger_entries WHERE transaction_id = ?",
    )
      .bind(result.transactionId)
      .first();
    expect(entries).toEqual({ s: 0, n: 3 });
  });

  it("a replayed posting changes nothing and returns the first transaction", async () => {
    const driver = `usr_${unique()}`;
    const posting = payment(driver, 1500, 300);
    const first = await post(ctx(), posting);
    const second = await post(ctx(), posting);
    expect(second).toEqual({ transactionId: first.transactionId, replayed: true });
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(1200);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM ledger_transactions WHERE idempotency_key = ?",
    )
      .bind(posting.idempotencyKey)
      .first("n");
    expect(count).toBe(1);
  });

  it("the same key with other content is refused", async () => {
    const driver = `usr_${unique()}`;
    const posting = payment(driver, 1500, 300);
    await post(ctx(), posting);
    await expect(post(ctx(), { ...posting, lines: payment(driver, 1600, 300).lines })).rejects.toThrow(
      /other content/,
    );
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(1200);
  });

  it("refuses an unbalanced posting before and inside the database", async () => {
    const driver = `usr_${unique()}`;
    const bad = payment(driver, 1000, 100);
    bad.lines[0] = { account: platformAccount("efi_clearing"), amount: 999 };
    await expect(post(ctx(), bad)).rejects.toThrow(/does not balance/);
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference_type, reference_id, effective_at, created_at) VALUES ('txn_bad', 'bad', 'h', 'x', 'x', 'x', '2026-01-01', '2026-01-01')",
        ),
        env.DB.prepare(
          "INSERT INTO ledger_entries (transaction_id, account_id, amount, enforce_floor, effective_at, created_at) VALUES ('txn_bad', 'platform:platform:revenue', -5, 0, '2026-01-01', '2026-01-01'), ('txn_bad', 'platform:platform:efi_clearing', 4, 0, '2026-01-01', '2026-01-01')",
        ),
        env.DB.prepare("INSERT INTO ledger_posting_checks (transaction_id) VALUES ('txn_bad')"),
      ]),
    ).rejects.toThrow(/ledger_unbalanced/);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM ledger_transactions WHERE id = 'txn_bad'").first("n"),
    ).toBe(0);
  });

  it("refuses UPDATE and DELETE on transactions and entries, and direct balance writes", async () => {
    const driver = `usr_${unique()}`;
    const { transactionId } = await post(ctx(), payment(driver, 1000, 200));
    for (const statement of [
      "UPDATE ledger_entries SET amount = amount + 1 WHERE transaction_id = ?",
      "DELETE FROM ledger_entries WHERE transaction_id = ?",
      "UPDATE ledger_transactions SET kind = 'x' WHERE id = ?",
      "DELETE FROM ledger_transactions WHERE id = ?",
    ]) {
      await expect(env.DB.prepare(statement).bind(transactionId).run()).rejects.toThrow(/ledger_append_only/);
    }
    await expect(
      env.DB.prepare("UPDATE ledger_accounts SET balance = 999999 WHERE id = ?")
        .bind(`driver:${driver}:pending`)
        .run(),
    ).rejects.toThrow(/ledger_append_only/);
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(800);
  });

  it("a floor-enforcing posting that would overdraw is refused whole", async () => {
    const driver = `usr_${unique()}`;
    await post(ctx(), payment(driver, 1000, 200));
    const overdraw: Posting = {
      idempotencyKey: `test:${unique()}`,
      kind: "test.move",
      reference: { type: "test", id: "x" },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver, "pending"), amount: 801 },
        { account: driverAccount(driver, "available"), amount: -801 },
      ],
    };
    const error = await post(ctx(), overdraw).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("insufficient_funds");
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(800);
    expect(await balanceOf(ctx(), driverAccount(driver, "available"))).toBe(0);
  });

  it("reverses a transaction once, and knows past balances", async () => {
    const driver = `usr_${unique()}`;
    const { transactionId } = await post(ctx(), payment(driver, 1000, 200));
    const reversal = await reverse(ctx(), transactionId);
    const again = await reverse(ctx(), transactionId);
    expect(again).toEqual({ transactionId: reversal.transactionId, replayed: true });
    expect(await balanceOf(ctx(), driverAccount(driver, "pending"))).toBe(0);
    expect(await balanceAt(ctx(), driverAccount(driver, "pending"), new Date("2026-11-21T00:00:00Z"))).toBe(
      800,
    );
  });
});
