import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { type AccountRef, driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import { call, expectProblem, registerUser, unique } from "../helpers";

const ctx = () => createServiceContext(env);

async function move(
  from: AccountRef,
  to: AccountRef,
  cents: number,
  reference: { type: string; id: string },
  kind = "test.move",
  options: { effectiveAt?: Date } = {},
) {
  return post(ctx(), {
    idempotencyKey: `test:${unique()}`,
    kind,
    reference,
    effectiveAt: options.effectiveAt ?? new Date(),
    lines: [
      { account: from, amount: cents },
      { account: to, amount: -cents },
    ],
  });
}

describe("GET /v1/wallet", () => {
  it("is all zeros for a driver who never earned anything", async () => {
    const driver = await registerUser("driver");
    const reply = await call("GET", "/v1/wallet", { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      pending_cents: 0,
      available_cents: 0,
      credit_cents: 0,
      debt_cents: 0,
      currency: "BRL",
    });
  });

  it("shows pending, available and credit, a credit in debt included, and only the caller's", async () => {
    const driver = await registerUser("driver");
    const other = await registerUser("driver");
    const ride = { type: "ride", id: `ride_${unique()}` };
    await move(
      platformAccount("efi_clearing"),
      driverAccount(driver.id, "pending"),
      1600,
      ride,
      "ride.payment",
    );
    await move(driverAccount(driver.id, "pending"), driverAccount(driver.id, "available"), 600, ride);
    // A cash-ride commission taken from prepaid credit may go into debt (down to the floor).
    await move(
      driverAccount(driver.id, "credit"),
      platformAccount("revenue"),
      300,
      ride,
      "ride.cash_commission",
    );
    await move(platformAccount("efi_clearing"), driverAccount(other.id, "available"), 99_999, ride);

    const reply = await call("GET", "/v1/wallet", { token: driver.accessToken });
    expect(reply.json).toEqual({
      pending_cents: 1000,
      available_cents: 600,
      credit_cents: -300,
      debt_cents: 0,
      currency: "BRL",
    });
  });
});

describe("GET /v1/wallet/entries", () => {
  it("lists the driver's lines newest first with natural signs, linked to their ride, payout or settlement", async () => {
    const driver = await registerUser("driver");
    const rideId = `ride_${unique()}`;
    const settlementId = `stl_${unique()}`;
    const payment = await move(
      platformAccount("efi_clearing"),
      driverAccount(driver.id, "pending"),
      1600,
      { type: "ride", id: rideId },
      "ride.payment",
      { effectiveAt: new Date("2026-11-20T12:00:00Z") },
    );
    await env.DB.prepare(
      "INSERT INTO settlements (id, driver_id, source_transaction_id, ride_id, amount_cents, due_on, status, created_at) VALUES (?, ?, ?, ?, 1600, '2026-11-24', 'released', ?)",
    )
      .bind(settlementId, driver.id, payment.transactionId, rideId, new Date().toISOString())
      .run();
    const release = await move(
      driverAccount(driver.id, "pending"),
      driverAccount(driver.id, "available"),
      1600,
      { type: "settlement", id: settlementId },
      "settlement.release",
    );
    const payoutRef = { type: "payout", id: `pout_${unique()}` };
    await move(
      driverAccount(driver.id, "available"),
      platformAccount("payouts_in_transit"),
      1000,
      payoutRef,
      "payout.request",
    );

    const reply = await call("GET", "/v1/wallet/entries", { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.next_cursor).toBeNull();
    expect(reply.json.items).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        account: "available",
        amount_cents: -1000,
        kind: "payout.request",
        ride_id: null,
        payout_id: payoutRef.id,
        settlement_id: null,
        transaction_id: expect.stringMatching(/^txn_/),
        effective_at: expect.any(String),
        created_at: expect.any(String),
      },
      expect.objectContaining({
        account: "available",
        amount_cents: 1600,
        kind: "settlement.release",
        ride_id: rideId,
        settlement_id: settlementId,
        payout_id: null,
        transaction_id: release.transactionId,
      }),
      expect.objectContaining({
        account: "pending",
        amount_cents: -1600,
        kind: "settlement.release",
        ride_id: rideId,
        settlement_id: settlementId,
      }),
      expect.objectContaining({
        account: "pending",
        amount_cents: 1600,
        kind: "ride.payment",
        ride_id: rideId,
        settlement_id: null,
        transaction_id: payment.transactionId,
        effective_at: "2026-11-20T12:00:00.000Z",
      }),
    ]);
    // Platform-side entries of the same transactions are not the driver's business.
    expect(
      reply.json.items.every((i: { account: string }) =>
        ["pending", "available", "credit"].includes(i.account),
      ),
    ).toBe(true);
  });

  it("pages with the cursor, without gaps or repeats", async () => {
    const driver = await registerUser("driver");
    for (let i = 1; i <= 5; i++) {
      await move(platformAccount("efi_clearing"), driverAccount(driver.id, "available"), i * 100, {
        type: "ride",
        id: `ride_${i}`,
      });
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const reply = await call("GET", `/v1/wallet/entries${query}`, { token: driver.accessToken });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...reply.json.items.map((i: { amount_cents: number }) => i.amount_cents));
      cursor = reply.json.next_cursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual([500, 400, 300, 200, 100]);
    expect(pages).toBe(3);
  });

  it("shows nothing of another driver's statement", async () => {
    const driver = await registerUser("driver");
    const other = await registerUser("driver");
    await move(platformAccount("efi_clearing"), driverAccount(other.id, "available"), 700, {
      type: "ride",
      id: "r",
    });
    const reply = await call("GET", "/v1/wallet/entries", { token: driver.accessToken });
    expect(reply.json).toEqual({ items: [], next_cursor: null });
  });

  it.each(["?limit=0", "?limit=101", "?cursor=abc", "?cursor=-1", "?cursor=1.5"])(
    "refuses %s with 400 validation_failed",
    async (query) => {
      const driver = await registerUser("driver");
      const reply = await call("GET", `/v1/wallet/entries${query}`, { token: driver.accessToken });
      expectProblem(reply, 400, "validation_failed");
    },
  );
});
