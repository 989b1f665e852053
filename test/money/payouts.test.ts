import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import type { PayoutRail } from "../../src/integrations/payout-rail";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { completePayout } from "../../src/services/payouts/complete";
import { requestPayout } from "../../src/services/payouts/request";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { fund } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

const ctx = (overrides: Partial<ServiceContext> = {}): ServiceContext => ({
  ...createServiceContext(env),
  ...overrides,
});

const CPF_KEY = "529.982.247-25";

async function fundedDriver(cents: number): Promise<TestUser> {
  const driver = await registerUser("driver");
  await fund(cents, driver.id);
  return driver;
}

async function requestPayoutCall(driver: TestUser, body: unknown, key: string = unique()) {
  await allowPayoutsTo(driver.id, (body as { pix_key?: unknown } | null)?.pix_key);
  return call("POST", "/v1/payouts", {
    token: driver.accessToken,
    headers: { "idempotency-key": key },
    body,
  });
}

const available = (driverId: string) => balanceOf(ctx(), driverAccount(driverId, "available"));

async function payoutRows(driverId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM payouts WHERE driver_id = ? ORDER BY id")
    .bind(driverId)
    .all<Record<string, any>>();
  return results;
}

async function transactionsOf(payoutId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, kind, idempotency_key, reverses_id FROM ledger_transactions WHERE reference_type = 'payout' AND reference_id = ? ORDER BY created_at, id",
  )
    .bind(payoutId)
    .all<Record<string, any>>();
  return results;
}

async function entriesOf(transactionId: string) {
  const { results } = await env.DB.prepare(
    "SELECT account_id, amount FROM ledger_entries WHERE transaction_id = ? ORDER BY id",
  )
    .bind(transactionId)
    .all<{ account_id: string; amount: number }>();
  return results;
}

async function setPayoutFee(cents: number) {
  await env.DB.prepare("UPDATE settlement_config SET payout_fee_cents = ? WHERE id = 1").bind(cents).run();
}

afterEach(async () => {
  await setPayoutFee(0);
});

describe("POST /v1/payouts: happy path", () => {
  it("moves the amount out of available, pays it by the local rail, and the wallet and statement show it", async () => {
    const driver = await fundedDriver(5000);
    const reply = await requestPayoutCall(driver, { amount_cents: 3000, pix_key: CPF_KEY });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toEqual({
      id: expect.stringMatching(/^pout_/),
      status: "paid",
      amount_cents: 3000,
      fee_cents: 0,
      pix_key: "*******4725",
      pix_key_type: "cpf",
      rail: "local",
      failure_reason: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const payoutId = reply.json.id;

    // The row: normalised key, the rail's reference, both transactions.
    const [row] = await payoutRows(driver.id);
    expect(row).toMatchObject({
      id: payoutId,
      status: "paid",
      pix_key: "52998224725",
      rail_reference: `local_${payoutId}`,
    });

    // The ledger: the request (available → in transit) and the confirmation (in transit → Efí).
    const transactions = await transactionsOf(payoutId);
    expect(transactions.map((t) => [t.kind, t.idempotency_key])).toEqual([
      ["payout.request", `payout:${payoutId}`],
      ["payout.paid", `payout:${payoutId}:paid`],
    ]);
    expect(row?.request_transaction_id).toBe(transactions[0]?.id);
    expect(row?.outcome_transaction_id).toBe(transactions[1]?.id);
    expect(await entriesOf(transactions[0]?.id)).toEqual([
      { account_id: `driver:${driver.id}:available`, amount: 3000 },
      { account_id: "platform:platform:payouts_in_transit", amount: -3000 },
    ]);
    expect(await entriesOf(transactions[1]?.id)).toEqual([
      { account_id: "platform:platform:payouts_in_transit", amount: 3000 },
      { account_id: "platform:platform:efi_balance", amount: -3000 },
    ]);

    const wallet = await call("GET", "/v1/wallet", { token: driver.accessToken });
    expect(wallet.json).toEqual({
      pending_cents: 0,
      available_cents: 2000,
      credit_cents: 0,
      debt_cents: 0,
      currency: "BRL",
    });

    const statement = await call("GET", "/v1/wallet/entries", { token: driver.accessToken });
    expect(statement.status, statement.text).toBe(200);
    expect(statement.json.items).toHaveLength(2);
    expect(statement.json.items[0]).toMatchObject({
      account: "available",
      amount_cents: -3000,
      kind: "payout.request",
      payout_id: payoutId,
      ride_id: null,
      transaction_id: transactions[0]?.id,
    });
    expect(statement.json.items[1]).toMatchObject({
      account: "available",
      amount_cents: 5000,
      kind: "test.fund",
    });

    const list = await call("GET", "/v1/payouts", { token: driver.accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.json).toEqual({ items: [reply.json], next_cursor: null });
  });

  it("charges the configured fee on top of the amount, as platform revenue", async () => {
    await setPayoutFee(150);
    const driver = await fundedDriver(5000);
    const revenueBefore = await balanceOf(ctx(), platformAccount("revenue"));
    const reply = await requestPayoutCall(driver, { amount_cents: 3000, pix_key: "+55 11 98765-4321" });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toMatchObject({
      status: "paid",
      amount_cents: 3000,
      fee_cents: 150,
      pix_key_type: "phone",
    });
    expect(await available(driver.id)).toBe(1850);
    expect(await balanceOf(ctx(), platformAccount("revenue"))).toBe(revenueBefore + 150);
    const [request] = await transactionsOf(reply.json.id);
    expect(await entriesOf(request?.id)).toEqual([
      { account_id: `driver:${driver.id}:available`, amount: 3150 },
      { account_id: "platform:platform:payouts_in_transit", amount: -3000 },
      { account_id: "platform:platform:revenue", amount: -150 },
    ]);
  });

  it("pays exactly the whole balance down to zero", async () => {
    const driver = await fundedDriver(1000);
    const reply = await requestPayoutCall(driver, { amount_cents: 1000, pix_key: "motorista@example.com" });
    expect(reply.status, reply.text).toBe(202);
    expect(await available(driver.id)).toBe(0);
  });
});

describe("POST /v1/payouts: refusals change nothing", () => {
  async function expectUnchanged(driver: TestUser, balance: number) {
    expect(await available(driver.id)).toBe(balance);
    expect(await payoutRows(driver.id)).toEqual([]);
    const txns = await env.DB.prepare("SELECT count(*) AS n FROM ledger_entries WHERE account_id = ?")
      .bind(`driver:${driver.id}:available`)
      .first("n");
    expect(txns).toBe(1); // the funding entry only
  }

  it("below the configured minimum: 422 payout_below_minimum", async () => {
    const driver = await fundedDriver(5000);
    const reply = await requestPayoutCall(driver, { amount_cents: 999, pix_key: CPF_KEY });
    expectProblem(reply, 422, "payout_below_minimum");
    expect(reply.json.errors).toEqual([{ path: "amount_cents", message: "must be at least 1000" }]);
    await expectUnchanged(driver, 5000);
  });

  it.each([
    ["a CPF with a wrong check digit", "529.982.247-26"],
    ["a foreign phone", "+14155550100"],
    ["free text", "minha chave pix"],
  ])("an invalid Pix key (%s): 422 invalid_pix_key", async (_label, pixKey) => {
    const driver = await fundedDriver(5000);
    const reply = await requestPayoutCall(driver, { amount_cents: 2000, pix_key: pixKey });
    expectProblem(reply, 422, "invalid_pix_key");
    expect(reply.json.errors).toEqual([{ path: "pix_key", message: expect.any(String) }]);
    await expectUnchanged(driver, 5000);
  });

  it("more than the available balance: 409 insufficient_funds", async () => {
    const driver = await fundedDriver(5000);
    expectProblem(
      await requestPayoutCall(driver, { amount_cents: 5001, pix_key: CPF_KEY }),
      409,
      "insufficient_funds",
    );
    await expectUnchanged(driver, 5000);
  });

  it("the balance covers the amount but not the fee: 409 insufficient_funds", async () => {
    await setPayoutFee(100);
    const driver = await fundedDriver(5000);
    expectProblem(
      await requestPayoutCall(driver, { amount_cents: 4950, pix_key: CPF_KEY }),
      409,
      "insufficient_funds",
    );
    await expectUnchanged(driver, 5000);
  });

  it("a driver who never earned anything: 409 insufficient_funds", async () => {
    const driver = await registerUser("driver");
    expectProblem(
      await requestPayoutCall(driver, { amount_cents: 1000, pix_key: CPF_KEY }),
      409,
      "insufficient_funds",
    );
    expect(await payoutRows(driver.id)).toEqual([]);
  });

  it.each([
    ["a missing amount", { pix_key: CPF_KEY }, "amount_cents"],
    ["a fractional amount", { amount_cents: 1000.5, pix_key: CPF_KEY }, "amount_cents"],
    ["a negative amount", { amount_cents: -1000, pix_key: CPF_KEY }, "amount_cents"],
    ["an amount as a string", { amount_cents: "1000", pix_key: CPF_KEY }, "amount_cents"],
    ["a missing key", { amount_cents: 1000 }, "pix_key"],
    ["an empty key", { amount_cents: 1000, pix_key: "" }, "pix_key"],
  ])("a malformed body (%s): 400 validation_failed", async (_label, body, path) => {
    const driver = await fundedDriver(5000);
    const reply = await requestPayoutCall(driver, body);
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    await expectUnchanged(driver, 5000);
  });

  it("without an Idempotency-Key: 400 idempotency_key_required", async () => {
    const driver = await fundedDriver(5000);
    const reply = await call("POST", "/v1/payouts", {
      token: driver.accessToken,
      body: { amount_cents: 1000, pix_key: CPF_KEY },
    });
    expectProblem(reply, 400, "idempotency_key_required");
    await expectUnchanged(driver, 5000);
  });
});

describe("POST /v1/payouts: idempotency", () => {
  it("a replay with the same key returns the same payout and moves the money once", async () => {
    const driver = await fundedDriver(5000);
    const key = unique();
    const body = { amount_cents: 2000, pix_key: CPF_KEY };
    const first = await requestPayoutCall(driver, body, key);
    expect(first.status, first.text).toBe(202);
    const second = await requestPayoutCall(driver, body, key);
    expect(second.status, second.text).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.json).toEqual(first.json);
    expect(await available(driver.id)).toBe(3000);
    expect((await payoutRows(driver.id)).map((r) => r.id)).toEqual([first.json.id]);
  });

  it("the same key with another amount: 422 idempotency_key_reused, nothing moves", async () => {
    const driver = await fundedDriver(5000);
    const key = unique();
    expect((await requestPayoutCall(driver, { amount_cents: 2000, pix_key: CPF_KEY }, key)).status).toBe(202);
    expectProblem(
      await requestPayoutCall(driver, { amount_cents: 2500, pix_key: CPF_KEY }, key),
      422,
      "idempotency_key_reused",
    );
    expect(await available(driver.id)).toBe(3000);
    expect(await payoutRows(driver.id)).toHaveLength(1);
  });

  it("a refused payout frees its key: after a top-up the same key succeeds", async () => {
    const driver = await fundedDriver(500);
    const key = unique();
    const body = { amount_cents: 1000, pix_key: CPF_KEY };
    expectProblem(await requestPayoutCall(driver, body, key), 409, "insufficient_funds");
    await fund(500, driver.id);
    const retry = await requestPayoutCall(driver, body, key);
    expect(retry.status, retry.text).toBe(202);
    expect(await available(driver.id)).toBe(0);
  });
});

describe("POST /v1/payouts: a failed payout is reversed", () => {
  it("fail@pix.test fails on the local rail: money and fee back in available, reversal posted", async () => {
    await setPayoutFee(150);
    const driver = await fundedDriver(5000);
    const reply = await requestPayoutCall(driver, { amount_cents: 3000, pix_key: "fail@pix.test" });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toMatchObject({
      status: "failed",
      failure_reason: "recipient_refused",
      pix_key: "*********test",
      pix_key_type: "email",
      fee_cents: 150,
    });
    expect(await available(driver.id)).toBe(5000);

    const [request, reversal] = await transactionsOf(reply.json.id);
    expect(request?.kind).toBe("payout.request");
    expect(reversal).toMatchObject({ kind: "payout.failed", reverses_id: request?.id });
    const [row] = await payoutRows(driver.id);
    expect(row).toMatchObject({ status: "failed", outcome_transaction_id: reversal?.id, fee_cents: 150 });
    // The reversal mirrors the request line by line.
    expect((await entriesOf(reversal?.id)).map((e) => [e.account_id, e.amount])).toEqual(
      (await entriesOf(request?.id)).map((e) => [e.account_id, -e.amount]),
    );

    const statement = await call("GET", "/v1/wallet/entries", { token: driver.accessToken });
    expect(statement.json.items.slice(0, 2)).toMatchObject([
      { kind: "payout.failed", amount_cents: 3150, payout_id: reply.json.id },
      { kind: "payout.request", amount_cents: -3150, payout_id: reply.json.id },
    ]);

    const list = await call("GET", "/v1/payouts", { token: driver.accessToken });
    expect(list.json.items[0]).toMatchObject({ id: reply.json.id, status: "failed" });
  });
});

describe("POST /v1/payouts: concurrency", () => {
  it("20 concurrent payouts against a balance that covers one leave exactly one payout and a balance that never went below zero", async () => {
    const driver = await fundedDriver(5000);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => requestPayoutCall(driver, { amount_cents: 5000, pix_key: CPF_KEY })),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const reply of replies.filter((r) => r.status === 409))
      expectProblem(reply, 409, "insufficient_funds");

    const rows = await payoutRows(driver.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(replies.find((r) => r.status === 202)?.json.id);

    // The cached balance, the sum of the entries, and every running balance along the way.
    expect(await available(driver.id)).toBe(0);
    const { results } = await env.DB.prepare(
      "SELECT amount FROM ledger_entries WHERE account_id = ? ORDER BY id",
    )
      .bind(`driver:${driver.id}:available`)
      .all<{ amount: number }>();
    expect(results).toHaveLength(2); // the funding and the one payout
    let running = 0;
    for (const entry of results) {
      running -= entry.amount; // credit-normal: a credit (negative amount) adds
      expect(running).toBeGreaterThanOrEqual(0);
    }
    expect(running).toBe(0);
  });

  it("concurrent payouts that the balance covers two of leave exactly two", async () => {
    const driver = await fundedDriver(5000);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => requestPayoutCall(driver, { amount_cents: 2000, pix_key: CPF_KEY })),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(2);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(8);
    expect(await payoutRows(driver.id)).toHaveLength(2);
    expect(await available(driver.id)).toBe(1000);
  });
});

describe("GET /v1/payouts", () => {
  it("lists the driver's own payouts newest first, cursor-paginated", async () => {
    const driver = await fundedDriver(10_000);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await requestPayoutCall(driver, { amount_cents: 1000 + i, pix_key: CPF_KEY });
      expect(reply.status, reply.text).toBe(202);
      ids.push(reply.json.id);
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct milliseconds: ids sort by time
    }
    const first = await call("GET", "/v1/payouts?limit=2", { token: driver.accessToken });
    expect(first.json.items.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    expect(first.json.next_cursor).toBe(ids[1]);
    const second = await call("GET", `/v1/payouts?limit=2&cursor=${first.json.next_cursor}`, {
      token: driver.accessToken,
    });
    expect(second.json).toMatchObject({ items: [{ id: ids[0] }], next_cursor: null });

    const other = await registerUser("driver");
    const none = await call("GET", "/v1/payouts", { token: other.accessToken });
    expect(none.json).toEqual({ items: [], next_cursor: null });
  });

  it.each(["?limit=0", "?limit=101", "?limit=abc"])("refuses %s with 400", async (query) => {
    const driver = await registerUser("driver");
    expectProblem(
      await call("GET", `/v1/payouts${query}`, { token: driver.accessToken }),
      400,
      "validation_failed",
    );
  });
});

describe("payouts and wallet routes: who may call them", () => {
  const ROUTES = [
    ["POST", "/v1/payouts"],
    ["GET", "/v1/payouts"],
    ["GET", "/v1/wallet"],
    ["GET", "/v1/wallet/entries"],
  ] as const;
  const body = { amount_cents: 1000, pix_key: CPF_KEY };

  it.each(ROUTES)("%s %s: 401 without a token", async (method, path) => {
    const reply = await call(method, path, {
      headers: { "idempotency-key": unique() },
      body: method === "POST" ? body : undefined,
    });
    expectProblem(reply, 401, "authentication_required");
  });

  it.each(ROUTES)("%s %s: 401 with a bad token", async (method, path) => {
    const reply = await call(method, path, {
      token: "not.a.jwt",
      headers: { "idempotency-key": unique() },
      body: method === "POST" ? body : undefined,
    });
    expect(reply.status).toBe(401);
  });

  it.each(ROUTES)("%s %s: 403 for a passenger", async (method, path) => {
    const passenger = await registerUser("passenger");
    const reply = await call(method, path, {
      token: passenger.accessToken,
      headers: { "idempotency-key": unique() },
      body: method === "POST" ? body : undefined,
    });
    expectProblem(reply, 403, "forbidden");
    expect(await payoutRows(passenger.id)).toEqual([]);
  });

  it.each(ROUTES)("%s %s: 403 for staff (an admin has no wallet)", async (method, path) => {
    const admin = await createStaff("admin");
    const reply = await call(method, path, {
      token: admin.accessToken,
      headers: { "idempotency-key": unique() },
      body: method === "POST" ? body : undefined,
    });
    expectProblem(reply, 403, "forbidden");
  });
});

describe("payouts service: rails and outcomes", () => {
  /** A rail that accepts the send and reports nothing yet, like Efí before its webhook. */
  const deferredRail: PayoutRail = {
    name: "deferred",
    async send(request) {
      return { reference: `ref_${request.payoutId}` };
    },
  };

  it("a rail that reports later: in transit with its reference, then paid once by completePayout", async () => {
    const driver = await fundedDriver(5000);
    const c = ctx({ payoutRail: deferredRail });
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(c, driver.id, { amountCents: 2000, pixKey: CPF_KEY });
    expect(payout).toMatchObject({ status: "in_transit", rail: "deferred" });
    const [row] = await payoutRows(driver.id);
    expect(row).toMatchObject({ status: "in_transit", rail_reference: `ref_${payout.id}` });
    expect(await available(driver.id)).toBe(3000);

    const paid = await completePayout(c, payout.id, { status: "paid" });
    expect(paid.status).toBe("paid");
    const again = await completePayout(c, payout.id, { status: "paid" });
    expect(again).toMatchObject({ id: payout.id, status: "paid" });
    expect((await transactionsOf(payout.id)).map((t) => t.kind)).toEqual(["payout.request", "payout.paid"]);
    // A contradicting outcome for a settled payout is refused, and changes nothing.
    await expect(completePayout(c, payout.id, { status: "failed", reason: "late" })).rejects.toThrow(
      /already paid/,
    );
    expect(await available(driver.id)).toBe(3000);
    expect(await transactionsOf(payout.id)).toHaveLength(2);
  });

  it("a failure reported later reverses once", async () => {
    const driver = await fundedDriver(5000);
    const c = ctx({ payoutRail: deferredRail });
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(c, driver.id, { amountCents: 2000, pixKey: CPF_KEY });
    await completePayout(c, payout.id, { status: "failed", reason: "NAO_REALIZADO" });
    await completePayout(c, payout.id, { status: "failed", reason: "NAO_REALIZADO" });
    expect(await available(driver.id)).toBe(5000);
    expect((await transactionsOf(payout.id)).map((t) => t.kind)).toEqual(["payout.request", "payout.failed"]);
    await expect(completePayout(c, payout.id, { status: "paid" })).rejects.toThrow(/already failed/);
  });

  it("contradicting outcomes racing: exactly one applies, guarded in the database", async () => {
    const driver = await fundedDriver(5000);
    const c = ctx({ payoutRail: deferredRail });
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(c, driver.id, { amountCents: 2000, pixKey: CPF_KEY });
    const results = await Promise.allSettled([
      completePayout(ctx(), payout.id, { status: "paid" }),
      completePayout(ctx(), payout.id, { status: "failed", reason: "x" }),
      completePayout(ctx(), payout.id, { status: "paid" }),
      completePayout(ctx(), payout.id, { status: "failed", reason: "x" }),
    ]);
    const [row] = await payoutRows(driver.id);
    const outcomes = (await transactionsOf(payout.id)).map((t) => t.kind);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1]).toBe(row?.status === "paid" ? "payout.paid" : "payout.failed");
    expect(await available(driver.id)).toBe(row?.status === "paid" ? 3000 : 5000);
    // Calls that asked for the winning outcome succeed; the others are refused.
    for (const [i, result] of results.entries()) {
      const asked = i % 2 === 0 ? "paid" : "failed";
      expect(result.status).toBe(asked === row?.status ? "fulfilled" : "rejected");
    }
  });

  it("the status guard in the outcome's batch refuses a payout another outcome settled after it was read", async () => {
    const driver = await fundedDriver(5000);
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(ctx({ payoutRail: deferredRail }), driver.id, {
      amountCents: 2000,
      pixKey: CPF_KEY,
    });
    // Between this call's read (in transit) and its batch, a failure report lands first.
    const base = ctx();
    const interleaved = new Proxy(base.db, {
      get(target, prop) {
        if (prop === "batch") {
          return async (statements: Parameters<typeof target.batch>[0]) => {
            await completePayout(ctx(), payout.id, { status: "failed", reason: "first" });
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await expect(completePayout({ ...base, db: interleaved }, payout.id, { status: "paid" })).rejects.toThrow(
      /already failed/,
    );
    expect((await transactionsOf(payout.id)).map((t) => t.kind)).toEqual(["payout.request", "payout.failed"]);
    const [row] = await payoutRows(driver.id);
    expect(row).toMatchObject({ status: "failed", fee_cents: 0, failure_reason: "first" });
    expect(await available(driver.id)).toBe(5000);
  });

  it("a rail that throws leaves the payout in transit with the money held (the outcome is unknown)", async () => {
    const driver = await fundedDriver(5000);
    const brokenRail: PayoutRail = {
      name: "broken",
      async send() {
        throw new Error("connection reset");
      },
    };
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(ctx({ payoutRail: brokenRail }), driver.id, {
      amountCents: 2000,
      pixKey: CPF_KEY,
    });
    expect(payout.status).toBe("in_transit");
    expect(await available(driver.id)).toBe(3000);
    const [row] = await payoutRows(driver.id);
    expect(row).toMatchObject({ status: "in_transit", rail: "broken", rail_reference: null });
  });

  it("the local rail refuses to pretend in production: the payout waits in transit", async () => {
    const driver = await fundedDriver(5000);
    const { LocalPayoutRail } = await import("../../src/integrations/payout-rail");
    await allowPayoutsTo(driver.id, CPF_KEY);
    const payout = await requestPayout(ctx({ payoutRail: new LocalPayoutRail("production") }), driver.id, {
      amountCents: 2000,
      pixKey: CPF_KEY,
    });
    expect(payout.status).toBe("in_transit");
  });
});
