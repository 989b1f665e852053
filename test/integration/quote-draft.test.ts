import { env } from "cloudflare:workers";
import ngeohash from "ngeohash";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { computeFare, ruleById } from "../../src/services/pricing/fares";
import { call, registerUser, unique } from "../helpers";

// A quote is written in the same D1 batch as its reads, as a draft priced in SQL; what the client
// is told and what is kept must still be the contract's price (`priceFrom`), whatever the draft
// guessed. These check the stored row against the reply, with and without a live surge.

const MASP = { lat: -23.5614, lng: -46.6559 };

async function storedQuote(id: string) {
  return env.DB.prepare(
    "SELECT city_id, pricing_rule_id, distance_m, duration_s, estimated_fare_cents, surge_multiplier_bp FROM quotes WHERE id = ?",
  )
    .bind(id)
    .first<Record<string, any>>();
}

async function quote(token: string, pickup: { lat: number; lng: number }) {
  return call("POST", "/v1/rides/quote", { token, body: { pickup, dropoff: MASP, category: "pop" } });
}

describe("POST /v1/rides/quote stores exactly what it answers", () => {
  it("without a surge: one row, the contract's fare", async () => {
    const passenger = await registerUser("passenger");
    const reply = await quote(passenger.accessToken, { lat: -23.5503, lng: -46.6339 });
    expect(reply.status, reply.text).toBe(200);
    const row = await storedQuote(reply.json.quote_id);
    const rule = await ruleById(createServiceContext(env), row?.pricing_rule_id);
    if (!rule) throw new Error("the quote's rule is missing");
    expect(row).toEqual({
      city_id: "sao_paulo",
      pricing_rule_id: row?.pricing_rule_id,
      distance_m: reply.json.distance_m,
      duration_s: reply.json.duration_s,
      estimated_fare_cents: reply.json.estimated_fare_cents,
      surge_multiplier_bp: 10_000,
    });
    expect(reply.json.estimated_fare_cents).toBe(
      computeFare({ ...rule, surgeMultiplierBp: 10_000 }, reply.json),
    );
    const { results } = await env.DB.prepare("SELECT id FROM quotes WHERE passenger_id = ?")
      .bind(passenger.id)
      .all();
    expect(results).toHaveLength(1);
  });

  it("under a live surge the SQL draft does not know: the row is the surged price the client saw", async () => {
    const passenger = await registerUser("passenger");
    const pickup = { lat: -23.5871, lng: -46.6572 };
    const zone = ngeohash.encode(pickup.lat, pickup.lng, 7);
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO surges (id, city_id, category, zone, multiplier_bp, expires_at, created_by, created_at) VALUES (?, 'sao_paulo', 'pop', ?, 15000, ?, 'test', ?)",
    )
      .bind(`srg_${unique()}`, zone, new Date(now + 60_000).toISOString(), new Date(now).toISOString())
      .run();
    const reply = await quote(passenger.accessToken, pickup);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.surge_multiplier).toBe(1.5);
    const row = await storedQuote(reply.json.quote_id);
    expect(row?.surge_multiplier_bp).toBe(15_000);
    expect(row?.estimated_fare_cents).toBe(reply.json.estimated_fare_cents);
    const rule = await ruleById(createServiceContext(env), row?.pricing_rule_id);
    if (!rule) throw new Error("the quote's rule is missing");
    expect(reply.json.estimated_fare_cents).toBe(
      computeFare({ ...rule, surgeMultiplierBp: 15_000 }, reply.json),
    );
    const { results } = await env.DB.prepare("SELECT id FROM quotes WHERE passenger_id = ?")
      .bind(passenger.id)
      .all();
    expect(results).toHaveLength(1);
  });

  it("a refused quote leaves no row behind", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: {
        pickup: { lat: -23.5503, lng: -46.6339 },
        dropoff: { lat: -22.9711, lng: -43.1822 },
        category: "pop",
      },
    });
    expect(reply.status).toBe(422);
    const { results } = await env.DB.prepare("SELECT id FROM quotes WHERE passenger_id = ?")
      .bind(passenger.id)
      .all();
    expect(results).toHaveLength(0);
  });
});
