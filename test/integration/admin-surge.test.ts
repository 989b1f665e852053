import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser } from "../helpers";
import { PAULISTA, SE } from "../ride-helpers";

const SURGE = "/v1/admin/surge";
const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

// SE's 7-character cell is 6gyf4bf; PAULISTA's is 6gycfqf.
const surge = (overrides: Record<string, unknown> = {}) => ({
  city_id: "sao_paulo",
  category: "comfort",
  zone: null,
  multiplier_bp: 15_000,
  expires_at: inMinutes(30),
  reason: "rain at rush hour",
  ...overrides,
});

async function quote(token: string, pickup = SE, dropoff = PAULISTA) {
  const reply = await call("POST", "/v1/rides/quote", {
    token,
    body: { pickup, dropoff, category: "comfort" },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return Number(row?.n);
}

describe("surge", () => {
  it("a city-wide surge and a more specific zone price quotes, show the multiplier, and are audited", async () => {
    const ops = await createStaff("ops");
    const passenger = await registerUser("passenger");
    const plain = await quote(passenger.accessToken);
    expect(plain.surge_multiplier).toBe(1);

    const city = await call("POST", SURGE, { token: ops.accessToken, body: surge() });
    expect(city.status, city.text).toBe(201);
    const surged = await quote(passenger.accessToken);
    expect(surged.surge_multiplier).toBe(1.5);
    expect(surged.estimated_fare_cents).toBeGreaterThan(plain.estimated_fare_cents);
    const stored = await env.DB.prepare("SELECT surge_multiplier_bp FROM quotes WHERE id = ?")
      .bind(surged.quote_id)
      .first();
    expect(stored).toEqual({ surge_multiplier_bp: 15_000 });

    // A zone around SE wins over the whole city there, and only there.
    const zone = await call("POST", SURGE, {
      token: ops.accessToken,
      body: surge({ zone: "6gyf4", multiplier_bp: 20_000, reason: "stadium exit" }),
    });
    expect(zone.status, zone.text).toBe(201);
    expect((await quote(passenger.accessToken)).surge_multiplier).toBe(2);
    expect((await quote(passenger.accessToken, PAULISTA, SE)).surge_multiplier).toBe(1.5);

    // Setting 1.0x ends the city-wide surge early; the zone's stays.
    const ended = await call("POST", SURGE, {
      token: ops.accessToken,
      body: surge({ multiplier_bp: 10_000, reason: "rain stopped" }),
    });
    expect(ended.status, ended.text).toBe(201);
    expect((await quote(passenger.accessToken, PAULISTA, SE)).surge_multiplier).toBe(1);
    expect((await quote(passenger.accessToken)).surge_multiplier).toBe(2);

    const listed = await call("GET", `${SURGE}?city_id=sao_paulo&category=comfort`, {
      token: ops.accessToken,
    });
    expect(listed.json.items.map((s: { id: string }) => s.id)).toEqual([
      ended.json.id,
      zone.json.id,
      city.json.id,
    ]);

    const audit = await env.DB.prepare(
      "SELECT actor_id, action, before, after, reason FROM audit_logs WHERE target_type = 'surge' AND target_id = ?",
    )
      .bind(ended.json.id)
      .first<Record<string, string>>();
    expect(audit).toMatchObject({ actor_id: ops.id, action: "surge.set", reason: "rain stopped" });
    expect(JSON.parse(audit?.before ?? "null")).toEqual(city.json);
    expect(JSON.parse(audit?.after ?? "null")).toEqual(ended.json);
  });

  it("refuses a surge outside the version's bounds or with a bad zone or expiry, changing nothing", async () => {
    const ops = await createStaff("ops");
    const cases: [Record<string, unknown>, string][] = [
      [{ multiplier_bp: 30_001 }, "multiplier_bp"],
      [{ multiplier_bp: 9_999 }, "multiplier_bp"],
      [{ expires_at: inMinutes(-1) }, "expires_at"],
      [{ expires_at: inMinutes(25 * 60) }, "expires_at"],
      [{ zone: "6gyf4a" }, "zone"],
      [{ zone: "u4pruyd" }, "zone"],
      [{ category: "helicopter" }, "category"],
      [{ city_id: "atlantis" }, "city_id"],
      [{ reason: "  " }, "reason"],
    ];
    const surges = await count("surges");
    for (const [overrides, field] of cases) {
      const reply = await call("POST", SURGE, { token: ops.accessToken, body: surge(overrides) });
      expectProblem(reply, 400, "validation_failed");
      expect(
        reply.json.errors.map((e: { path: string }) => e.path),
        JSON.stringify(overrides),
      ).toContain(field);
    }
    expect(await count("surges")).toBe(surges);
    const support = await createStaff("support");
    expectProblem(await call("POST", SURGE, { token: support.accessToken, body: surge() }), 403, "forbidden");
  });
});
