import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import { call, createStaff, expectProblem, registerUser, unique } from "../helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

const PATH = "/v1/admin/settlement-config";

const SEEDED = {
  delay_business_days: 2,
  min_payout_cents: 1000,
  payout_fee_cents: 0,
  credit_floor_cents: -2000,
};

const valid = (overrides: Record<string, unknown> = {}) => ({
  ...SEEDED,
  holidays: ["2026-12-25", "2027-01-01"],
  ...overrides,
});

async function auditRowsAfter(since: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor_id, action, target_type, target_id, before, after, request_id FROM audit_logs WHERE target_type = 'settlement_config' AND created_at >= ? ORDER BY id",
  )
    .bind(since)
    .all<Record<string, any>>();
  return results;
}

describe("GET /v1/admin/settlement-config", () => {
  it.each(["admin", "finance"] as const)("a %s reads the settings", async (role) => {
    const staff = await createStaff(role);
    const reply = await call("GET", PATH, { token: staff.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      delay_business_days: expect.any(Number),
      min_payout_cents: expect.any(Number),
      payout_fee_cents: expect.any(Number),
      credit_floor_cents: expect.any(Number),
      updated_at: expect.any(String),
    });
    expect(Array.isArray(reply.json.holidays)).toBe(true);
    expect(reply.json.holidays.every((d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d))).toBe(true);
  });
});

describe("PUT /v1/admin/settlement-config", () => {
  it("finance replaces the settings; the change is read back, applies to payouts, and is audited before and after", async () => {
    const finance = await createStaff("finance");
    const before = (await call("GET", PATH, { token: finance.accessToken })).json;
    const since = new Date().toISOString();
    const body = valid({
      delay_business_days: 3,
      holidays: ["2027-01-01", "2026-12-25", "2026-12-25"],
      min_payout_cents: 2500,
      payout_fee_cents: 75,
    });
    const reply = await call("PUT", PATH, { token: finance.accessToken, body });
    expect(reply.status, reply.text).toBe(200);
    const expected = {
      delay_business_days: 3,
      holidays: ["2026-12-25", "2027-01-01"], // sorted, without duplicates
      min_payout_cents: 2500,
      payout_fee_cents: 75,
      credit_floor_cents: -2000,
      // Left out of the body: unchanged.
      payout_key_cooldown_seconds: 86400,
      payout_daily_limit_cents: 500000,
      updated_at: expect.any(String),
    };
    expect(reply.json).toEqual(expected);
    expect((await call("GET", PATH, { token: finance.accessToken })).json).toEqual(reply.json);

    const [audit, ...more] = await auditRowsAfter(since);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({
      actor_id: finance.id,
      action: "settlement_config.update",
      target_type: "settlement_config",
      target_id: "1",
      request_id: reply.headers.get("x-request-id"),
    });
    expect(JSON.parse(audit?.before)).toEqual(before);
    expect(JSON.parse(audit?.after)).toEqual(reply.json);

    // The new minimum and fee are what a payout now meets.
    const driver = await registerUser("driver");
    await post(createServiceContext(env), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.fund",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_clearing"), amount: 5000 },
        { account: driverAccount(driver.id, "available"), amount: -5000 },
      ],
    });
    await allowPayoutsTo(driver.id, "529.982.247-25");
    const payout = (amount: number) =>
      call("POST", "/v1/payouts", {
        token: driver.accessToken,
        headers: { "idempotency-key": unique() },
        body: { amount_cents: amount, pix_key: "529.982.247-25" },
      });
    expectProblem(await payout(2000), 422, "payout_below_minimum");
    const paid = await payout(2500);
    expect(paid.status, paid.text).toBe(202);
    expect(paid.json.fee_cents).toBe(75);

    // Put the seeded settings back for the other tests in this file.
    expect(
      (await call("PUT", PATH, { token: finance.accessToken, body: { ...before, updated_at: undefined } }))
        .status,
    ).toBe(200);
  });

  it("a new credit floor applies to drivers' existing credit accounts too", async () => {
    const admin = await createStaff("admin");
    const driver = await registerUser("driver");
    await post(createServiceContext(env), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.topup",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_clearing"), amount: 100 },
        { account: driverAccount(driver.id, "credit"), amount: -100 },
      ],
    });
    const floor = () =>
      env.DB.prepare("SELECT floor FROM ledger_accounts WHERE id = ?")
        .bind(`driver:${driver.id}:credit`)
        .first("floor");
    expect(await floor()).toBe(-2000);
    const reply = await call("PUT", PATH, {
      token: admin.accessToken,
      body: valid({ credit_floor_cents: -500 }),
    });
    expect(reply.status, reply.text).toBe(200);
    expect(await floor()).toBe(-500);
    expect((await call("PUT", PATH, { token: admin.accessToken, body: valid() })).status).toBe(200);
    expect(await floor()).toBe(-2000);
  });

  it.each([
    ["a missing field", { ...SEEDED }, "holidays"],
    ["a negative D+N", valid({ delay_business_days: -1 }), "delay_business_days"],
    ["a fractional D+N", valid({ delay_business_days: 1.5 }), "delay_business_days"],
    ["a zero minimum payout", valid({ min_payout_cents: 0 }), "min_payout_cents"],
    ["a negative fee", valid({ payout_fee_cents: -1 }), "payout_fee_cents"],
    ["a fee as a string", valid({ payout_fee_cents: "10" }), "payout_fee_cents"],
    ["a positive credit floor", valid({ credit_floor_cents: 1 }), "credit_floor_cents"],
    ["a holiday that is not a date", valid({ holidays: ["christmas"] }), "holidays.0"],
    ["a holiday that does not exist", valid({ holidays: ["2026-02-30"] }), "holidays.0"],
    ["an unknown field", valid({ min_payout: 10 }), ""],
  ])("%s: 400 validation_failed, nothing changed, nothing audited", async (_label, body, path) => {
    const admin = await createStaff("admin");
    const before = (await call("GET", PATH, { token: admin.accessToken })).json;
    const since = new Date().toISOString();
    const reply = await call("PUT", PATH, { token: admin.accessToken, body });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call("GET", PATH, { token: admin.accessToken })).json).toEqual(before);
    expect(await auditRowsAfter(since)).toEqual([]);
  });
});

describe("settlement-config: who may call it", () => {
  it.each(["support", "ops"] as const)("a %s gets 403 on GET and PUT, and nothing changes", async (role) => {
    const staff = await createStaff(role);
    const admin = await createStaff("admin");
    const before = (await call("GET", PATH, { token: admin.accessToken })).json;
    expectProblem(await call("GET", PATH, { token: staff.accessToken }), 403, "forbidden");
    expectProblem(
      await call("PUT", PATH, { token: staff.accessToken, body: valid({ payout_fee_cents: 999 }) }),
      403,
      "forbidden",
    );
    expect((await call("GET", PATH, { token: admin.accessToken })).json).toEqual(before);
  });

  it.each(["passenger", "driver"] as const)("a %s gets 403 on GET and PUT", async (role) => {
    const user = await registerUser(role);
    expectProblem(await call("GET", PATH, { token: user.accessToken }), 403, "forbidden");
    expectProblem(await call("PUT", PATH, { token: user.accessToken, body: valid() }), 403, "forbidden");
  });

  it.each(["GET", "PUT"])("%s without a token: 401", async (method) => {
    expectProblem(
      await call(method, PATH, { body: method === "PUT" ? valid() : undefined }),
      401,
      "authentication_required",
    );
  });
});
