import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { splitFare } from "../../src/services/pricing/commission";
import { call, createStaff, expectProblem, registerUser } from "../helpers";
import {
  completeAtDropoff,
  onlineDriver,
  PAULISTA,
  postRide,
  requestRide,
  rideRow,
  SE,
} from "../ride-helpers";

const PRICING = "/v1/admin/pricing";
const COMMISSION = "/v1/admin/commission";

// Every test of this file that changes São Paulo's prices uses its own category (added to the
// city through the API), so the versions one test adds never change what another is quoted.
const SP_POP_BASE = {
  base_fare_cents: 500,
  per_km_cents: 150,
  per_minute_cents: 30,
  minimum_fare_cents: 800,
  booking_fee_cents: 100,
  cancellation_fee_cents: 500,
};

let categoryCount = 0;
async function newCategory(admin: { accessToken: string }): Promise<string> {
  categoryCount += 1;
  const category = `adm${categoryCount}`;
  const city = (await call("GET", "/v1/admin/cities/sao_paulo", { token: admin.accessToken })).json;
  const reply = await call("PATCH", "/v1/admin/cities/sao_paulo", {
    token: admin.accessToken,
    body: { categories: [...city.categories, category], reason: "a category for this test" },
  });
  expect(reply.status, reply.text).toBe(200);
  return category;
}

const version = (category: string, overrides: Record<string, unknown> = {}) => ({
  city_id: "sao_paulo",
  category,
  ...SP_POP_BASE,
  reason: "March fare review",
  ...overrides,
});

async function quote(token: string, category: string) {
  const reply = await call("POST", "/v1/rides/quote", {
    token,
    body: { pickup: SE, dropoff: PAULISTA, category },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

const q = (path: string, query: Record<string, string>) => `${path}?${new URLSearchParams(query)}`;

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return Number(row?.n);
}

describe("pricing versions", () => {
  it("a new São Paulo pop version prices new quotes; an old quote keeps its price; the audit log shows before and after", async () => {
    const ops = await createStaff("ops");
    const auditor = await createStaff("support");
    const category = "pop";
    const seeded = await call("GET", `${PRICING}/prc_sp_pop_2026`, { token: ops.accessToken });
    expect(seeded.json).toMatchObject({ ...SP_POP_BASE, retired_at: null, surge_min_bp: 10_000 });

    const passenger = await registerUser("passenger");
    const oldQuote = await quote(passenger.accessToken, category);

    const created = await call("POST", PRICING, {
      token: ops.accessToken,
      body: version(category, { base_fare_cents: 900, reason: "fuel went up" }),
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ category, base_fare_cents: 900, retired_at: null });

    const newQuote = await quote(passenger.accessToken, category);
    // Same trip, 400 centavos more flag fall.
    expect(newQuote.estimated_fare_cents).toBe(oldQuote.estimated_fare_cents + 400);

    // The ride requested with the old quote keeps the old price and the old version.
    await onlineDriver(category);
    const ride = await requestRide(passenger, { category, quote_id: oldQuote.quote_id });
    expect(ride.status, ride.text).toBe(201);
    expect(ride.json.estimated_fare_cents).toBe(oldQuote.estimated_fare_cents);
    expect((await rideRow(ride.json.id))?.pricing_rule_id).toBe("prc_sp_pop_2026");

    const audit = await call(
      "GET",
      q("/v1/admin/audit-logs", { target_type: "pricing_rule", target_id: created.json.id }),
      {
        token: auditor.accessToken,
      },
    );
    expect(audit.status, audit.text).toBe(200);
    expect(audit.json.items).toEqual([
      expect.objectContaining({
        actor_id: ops.id,
        action: "pricing_rule.create",
        before: seeded.json,
        after: created.json,
        reason: "fuel went up",
        request_id: created.headers.get("x-request-id"),
      }),
    ]);
    const byActor = await call("GET", q("/v1/admin/audit-logs", { actor_id: ops.id }), {
      token: auditor.accessToken,
    });
    expect(byActor.json.items.map((e: { target_id: string }) => e.target_id)).toEqual([created.json.id]);
  });

  it("a scheduled version is listed but prices nothing until its time; retiring falls back to the previous one", async () => {
    const ops = await createStaff("ops");
    const passenger = await registerUser("passenger");
    const category = await newCategory(ops);
    const base = await call("POST", PRICING, { token: ops.accessToken, body: version(category) });
    const later = await call("POST", PRICING, {
      token: ops.accessToken,
      body: version(category, { base_fare_cents: 5000, effective_from: "2090-01-01T03:00:00Z" }),
    });
    expect(later.status, later.text).toBe(201);
    expect(later.json.effective_from).toBe("2090-01-01T03:00:00.000Z");
    const before = await quote(passenger.accessToken, category);

    const listed = await call("GET", q(PRICING, { city_id: "sao_paulo", category, limit: "1" }), {
      token: ops.accessToken,
    });
    expect(listed.json.items.map((r: { id: string }) => r.id)).toEqual([later.json.id]);
    const next = await call(
      "GET",
      q(PRICING, { city_id: "sao_paulo", category, limit: "1", cursor: listed.json.next_cursor }),
      { token: ops.accessToken },
    );
    expect(next.json).toEqual({ items: [base.json], next_cursor: null });

    const bump = await call("POST", PRICING, {
      token: ops.accessToken,
      body: version(category, { base_fare_cents: 1500 }),
    });
    expect((await quote(passenger.accessToken, category)).estimated_fare_cents).toBe(
      before.estimated_fare_cents + 1000,
    );
    const retired = await call("POST", `${PRICING}/${bump.json.id}/retire`, {
      token: ops.accessToken,
      body: { reason: "typo in the flag fall" },
    });
    expect(retired.status, retired.text).toBe(200);
    expect(retired.json.retired_at).toEqual(expect.any(String));
    expect((await quote(passenger.accessToken, category)).estimated_fare_cents).toBe(
      before.estimated_fare_cents,
    );

    const again = await call("POST", `${PRICING}/${bump.json.id}/retire`, {
      token: ops.accessToken,
      body: { reason: "twice" },
    });
    expectProblem(again, 409, "rule_already_retired");
    // The base version is now the only one in force: retiring it would leave nothing.
    const rows = await count("pricing_rules");
    const last = await call("POST", `${PRICING}/${base.json.id}/retire`, {
      token: ops.accessToken,
      body: { reason: "oops" },
    });
    expectProblem(last, 409, "rule_in_force_needed");
    expect(
      (await call("GET", `${PRICING}/${base.json.id}`, { token: ops.accessToken })).json.retired_at,
    ).toBeNull();
    expect(await count("pricing_rules")).toBe(rows);
  });

  it("a version's own cancellation grace replaces the platform default", async () => {
    const ops = await createStaff("ops");
    const category = await newCategory(ops);
    const created = await call("POST", PRICING, {
      token: ops.accessToken,
      body: version(category, { cancellation_fee_cents: 700, cancellation_grace_seconds: 0 }),
    });
    expect(created.status, created.text).toBe(201);
    const passenger = await registerUser("passenger");
    const driver = await onlineDriver(category);
    const ride = await requestRide(passenger, { category });
    expect(ride.status, ride.text).toBe(201);
    expect((await postRide(driver.accessToken, ride.json.id, "accept")).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The platform's grace is 120 s; this version's is 0, so cancelling now costs the fee.
    const cancelled = await postRide(passenger.accessToken, ride.json.id, "cancel", {
      reason: "changed plans",
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect((await rideRow(ride.json.id))?.cancellation_fee_cents).toBe(700);
  });

  it("refuses bad input with a problem naming the field, changing nothing", async () => {
    const ops = await createStaff("ops");
    const category = await newCategory(ops);
    const existing = await call("POST", PRICING, {
      token: ops.accessToken,
      body: version(category, { effective_from: "2091-05-01T00:00:00Z" }),
    });
    expect(existing.status).toBe(201);
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ base_fare_cents: -1 }, 400, "validation_failed", "base_fare_cents"],
      [{ per_km_cents: 1.5 }, 400, "validation_failed", "per_km_cents"],
      [{ minimum_fare_cents: 50_001 }, 400, "validation_failed", "minimum_fare_cents"],
      [{ surge_min_bp: 20_000, surge_max_bp: 15_000 }, 400, "validation_failed", "surge_max_bp"],
      [{ surge_min_bp: 9_000 }, 400, "validation_failed", "surge_min_bp"],
      [{ effective_from: "2020-01-01T00:00:00Z" }, 400, "validation_failed", "effective_from"],
      [{ effective_from: "tomorrow" }, 400, "validation_failed", "effective_from"],
      [{ city_id: "atlantis" }, 400, "validation_failed", "city_id"],
      [{ category: "helicopter" }, 400, "validation_failed", "category"],
      [{ reason: "" }, 400, "validation_failed", "reason"],
      [{ reason: undefined }, 400, "validation_failed", "reason"],
      [{ effective_from: "2091-05-01T00:00:00.000Z" }, 409, "rule_version_conflict", "effective_from"],
    ];
    const rows = await count("pricing_rules");
    const audits = await count("audit_logs");
    for (const [overrides, status, code, field] of cases) {
      const reply = await call("POST", PRICING, {
        token: ops.accessToken,
        body: version(category, overrides),
      });
      expectProblem(reply, status, code);
      expect(
        reply.json.errors?.map((e: { path: string }) => e.path),
        JSON.stringify(overrides),
      ).toContain(field);
    }
    expect(await count("pricing_rules")).toBe(rows);
    expect(await count("audit_logs")).toBe(audits);
  });

  it("a support user may not write prices; finance may not either", async () => {
    const category = await newCategory(await createStaff("admin"));
    for (const role of ["support", "finance"] as const) {
      const staff = await createStaff(role);
      const reply = await call("POST", PRICING, { token: staff.accessToken, body: version(category) });
      expectProblem(reply, 403, "forbidden");
    }
    const support = await createStaff("support");
    expectProblem(await call("GET", PRICING, { token: support.accessToken }), 403, "forbidden");
  });

  it("the database refuses to edit or delete a version except setting retired_at once", async () => {
    await expect(
      env.DB.prepare("UPDATE pricing_rules SET base_fare_cents = 1 WHERE id = 'prc_sp_pop_2026'").run(),
    ).rejects.toThrow(/rule_immutable/);
    await expect(
      env.DB.prepare(
        "UPDATE pricing_rules SET retired_at = ?, base_fare_cents = 1 WHERE id = 'prc_sp_pop_2026'",
      )
        .bind(new Date().toISOString())
        .run(),
    ).rejects.toThrow(/rule_immutable/);
    await expect(
      env.DB.prepare("DELETE FROM pricing_rules WHERE id = 'prc_sp_pop_2026'").run(),
    ).rejects.toThrow(/rule_immutable/);
    await expect(
      env.DB.prepare("UPDATE commission_rules SET rate_bp = 1 WHERE city_id = 'sao_paulo'").run(),
    ).rejects.toThrow(/rule_immutable/);
    const row = await env.DB.prepare(
      "SELECT base_fare_cents, retired_at FROM pricing_rules WHERE id = 'prc_sp_pop_2026'",
    ).first();
    expect(row).toEqual({ base_fare_cents: 500, retired_at: null });
  });
});

describe("commission versions", () => {
  it("a completed ride's commission uses the version in force; the audit log shows before and after", async () => {
    const finance = await createStaff("finance");
    const admin = await createStaff("admin");
    const category = await newCategory(admin);
    const pricing = await call("POST", PRICING, { token: admin.accessToken, body: version(category) });
    expect(pricing.status, pricing.text).toBe(201);
    const first = await call("POST", COMMISSION, {
      token: finance.accessToken,
      body: { city_id: "sao_paulo", category, rate_bp: 2000, reason: "launch" },
    });
    expect(first.status, first.text).toBe(201);
    const second = await call("POST", COMMISSION, {
      token: finance.accessToken,
      body: {
        city_id: "sao_paulo",
        category,
        rate_bp: 3000,
        min_cents: 50,
        max_cents: 5000,
        reason: "new rate",
      },
    });
    expect(second.status, second.text).toBe(201);
    expect(second.json).toMatchObject({ rate_bp: 3000, min_cents: 50, max_cents: 5000, retired_at: null });

    // A cash ride: its commission is taken from the driver's credit at completion.
    const passenger = await registerUser("passenger");
    const driver = await onlineDriver(category);
    const ride = await requestRide(passenger, { category, payment_method: "cash" });
    expect(ride.status, ride.text).toBe(201);
    expect((await postRide(driver.accessToken, ride.json.id, "accept")).status).toBe(200);
    expect((await postRide(driver.accessToken, ride.json.id, "arrive")).status).toBe(200);
    expect((await postRide(driver.accessToken, ride.json.id, "start")).status).toBe(200);
    const done = await completeAtDropoff(driver, ride.json.id, { distance_m: 3000, duration_s: 600 });
    expect(done.status, done.text).toBe(200);
    const fare = Number((await rideRow(ride.json.id))?.final_fare_cents);
    const { commissionCents } = splitFare(fare, { rateBp: 3000, minCents: 50, maxCents: 5000 });
    expect(commissionCents).not.toBe(
      splitFare(fare, { rateBp: 2000, minCents: null, maxCents: null }).commissionCents,
    );
    const credit = await env.DB.prepare("SELECT balance FROM ledger_accounts WHERE id = ?")
      .bind(`driver:${driver.id}:credit`)
      .first<{ balance: number }>();
    expect(credit?.balance).toBe(-commissionCents);

    const audit = await call(
      "GET",
      q("/v1/admin/audit-logs", { target_type: "commission_rule", target_id: second.json.id }),
      { token: finance.accessToken },
    );
    expect(audit.json.items).toEqual([
      expect.objectContaining({
        actor_id: finance.id,
        action: "commission_rule.create",
        before: first.json,
        after: second.json,
        reason: "new rate",
      }),
    ]);
  });

  it("refuses bad commission input naming the field, and ops may read but not write", async () => {
    const finance = await createStaff("finance");
    const rows = await count("commission_rules");
    const cases: [Record<string, unknown>, string][] = [
      [{ rate_bp: 10_001 }, "rate_bp"],
      [{ rate_bp: -1 }, "rate_bp"],
      [{ min_cents: 500, max_cents: 100 }, "max_cents"],
      [{ city_id: "atlantis" }, "city_id"],
      [{ category: "helicopter" }, "category"],
      [{ effective_from: "2001-01-01T00:00:00Z" }, "effective_from"],
    ];
    for (const [overrides, field] of cases) {
      const reply = await call("POST", COMMISSION, {
        token: finance.accessToken,
        body: { city_id: "sao_paulo", category: "pop", rate_bp: 2000, reason: "bad input", ...overrides },
      });
      expectProblem(reply, 400, "validation_failed");
      expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    expect(await count("commission_rules")).toBe(rows);
    const ops = await createStaff("ops");
    expect(
      (await call("GET", q(COMMISSION, { city_id: "sao_paulo" }), { token: ops.accessToken })).status,
    ).toBe(200);
    expectProblem(
      await call("POST", COMMISSION, {
        token: ops.accessToken,
        body: { city_id: "sao_paulo", category: "pop", rate_bp: 2000, reason: "not mine" },
      }),
      403,
      "forbidden",
    );
  });
});
