import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import type { LatLng } from "../../src/lib/geo";
import { ApiError } from "../../src/lib/problem";
import type { ServiceContext } from "../../src/services/context";
import { computeFare, finalFare, priceRide, ruleById } from "../../src/services/pricing/fares";
import { createQuote } from "../../src/services/pricing/quote";
import { greatCircleRouting, type RoutingProvider } from "../../src/services/pricing/routing";
import { call, expectProblem, registerUser, unique } from "../helpers";

const PRACA_DA_SE: LatLng = { lat: -23.5503, lng: -46.634 };
const MASP: LatLng = { lat: -23.5614, lng: -46.6559 };
const COPACABANA: LatLng = { lat: -22.9711, lng: -43.1822 };
const CENTRO_RIO: LatLng = { lat: -22.9068, lng: -43.1729 };
const QUOTE_TTL_MS = 120_000; // wrangler.toml QUOTE_TTL_SECONDS

const trip = (category: string, pickup = PRACA_DA_SE, dropoff = MASP) => ({ pickup, dropoff, category });

/** About `metres` north of a point (1° of latitude ≈ 111 195 m). */
const north = (point: LatLng, metres: number): LatLng => ({
  lat: point.lat + metres / 111_195,
  lng: point.lng,
});

/**
 * A São Paulo pricing version for a category of its own, so the versions a test adds never
 * change what another test in this file is quoted.
 */
async function insertRule(
  category: string,
  effectiveFrom: string,
  fields: Partial<Record<string, number>> = {},
) {
  const id = `prc_test_${unique()}`;
  const rule = {
    base_fare_cents: 400,
    per_km_cents: 120,
    per_minute_cents: 25,
    minimum_fare_cents: 700,
    booking_fee_cents: 90,
    cancellation_fee_cents: 400,
    surge_multiplier_bp: 10_000,
    ...fields,
  };
  await env.DB.prepare(
    `INSERT INTO pricing_rules (id, city_id, category, base_fare_cents, per_km_cents, per_minute_cents,
       minimum_fare_cents, booking_fee_cents, cancellation_fee_cents, surge_multiplier_bp, effective_from, created_at)
     VALUES (?, 'sao_paulo', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      category,
      rule.base_fare_cents,
      rule.per_km_cents,
      rule.per_minute_cents,
      rule.minimum_fare_cents,
      rule.booking_fee_cents,
      rule.cancellation_fee_cents,
      rule.surge_multiplier_bp,
      effectiveFrom,
      new Date().toISOString(),
    )
    .run();
  return id;
}

const newCategory = () => `t${unique()}`;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const fromNow = (ms: number) => new Date(Date.now() + ms).toISOString();

async function expectApiError(promise: Promise<unknown>, code: string, paths?: string[]) {
  const error = await promise.then(
    () => expect.unreachable(`expected ${code}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ code });
  if (paths) expect((error as ApiError).errors?.map((e) => e.path)).toEqual(paths);
}

describe("POST /v1/rides/quote", () => {
  it("quotes a passenger a São Paulo trip in pop and comfort, comfort costing more, and stores the quote", async () => {
    const passenger = await registerUser("passenger");
    const route = await greatCircleRouting.route(PRACA_DA_SE, MASP);
    const before = Date.now();

    const pop = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip("pop") });
    const comfort = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip("comfort"),
    });

    expect(pop.status, pop.text).toBe(200);
    expect(comfort.status, comfort.text).toBe(200);
    // Seeded pop: 500 + 150/km + 30/min, min 800, fee 100; comfort: 700 + 210/km + 40/min, min 1200, fee 150.
    const popRule = { baseFareCents: 500, perKmCents: 150, perMinuteCents: 30, minimumFareCents: 800 };
    const comfortRule = { baseFareCents: 700, perKmCents: 210, perMinuteCents: 40, minimumFareCents: 1200 };
    const popFare = computeFare({ ...popRule, bookingFeeCents: 100, surgeMultiplierBp: 10_000 }, route);
    const comfortFare = computeFare(
      { ...comfortRule, bookingFeeCents: 150, surgeMultiplierBp: 10_000 },
      route,
    );
    expect(pop.json).toEqual({
      quote_id: expect.stringMatching(/^qte_[0-9A-Z]{26}$/),
      category: "pop",
      estimated_fare_cents: popFare,
      distance_m: route.distance_m,
      duration_s: route.duration_s,
      surge_multiplier: 1,
      expires_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      currency: "BRL",
      outstanding_fee_cents: 0,
      outstanding_fee_ride_ids: [],
    });
    expect(comfort.json).toMatchObject({ category: "comfort", estimated_fare_cents: comfortFare });
    expect(comfort.json.estimated_fare_cents).toBeGreaterThan(pop.json.estimated_fare_cents);
    expect(comfort.json.quote_id).not.toBe(pop.json.quote_id);

    // ~3.3 km in ~8 min: 500 + 150 × 3.3 + 30 × 8 ≈ 1235 + fee, comfortably above the minimum
    expect(popFare).toBeGreaterThan(1200);
    expect(popFare).toBeLessThan(1500);
    const expiresAt = Date.parse(pop.json.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + QUOTE_TTL_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + QUOTE_TTL_MS);

    const row = await env.DB.prepare("SELECT * FROM quotes WHERE id = ?")
      .bind(pop.json.quote_id)
      .first<any>();
    expect(row).toMatchObject({
      passenger_id: passenger.id,
      city_id: "sao_paulo",
      category: "pop",
      pricing_rule_id: "prc_sp_pop_2026",
      pickup_lat: PRACA_DA_SE.lat,
      pickup_lng: PRACA_DA_SE.lng,
      dropoff_lat: MASP.lat,
      dropoff_lng: MASP.lng,
      distance_m: route.distance_m,
      duration_s: route.duration_s,
      estimated_fare_cents: popFare,
      surge_multiplier_bp: 10_000,
      expires_at: pop.json.expires_at,
    });
    expect(Date.parse(row.expires_at) - Date.parse(row.created_at)).toBe(QUOTE_TTL_MS);
    const comfortRow = await env.DB.prepare(
      "SELECT pricing_rule_id, estimated_fare_cents FROM quotes WHERE id = ?",
    )
      .bind(comfort.json.quote_id)
      .first();
    expect(comfortRow).toEqual({ pricing_rule_id: "prc_sp_comfort_2026", estimated_fare_cents: comfortFare });
  });

  it("refuses a driver with 403 forbidden", async () => {
    const driver = await registerUser("driver");
    const reply = await call("POST", "/v1/rides/quote", { token: driver.accessToken, body: trip("pop") });
    expectProblem(reply, 403, "forbidden");
  });

  it("refuses a request without a token with 401", async () => {
    const reply = await call("POST", "/v1/rides/quote", { body: trip("pop") });
    expectProblem(reply, 401, "authentication_required");
  });

  it("refuses a bad token with 401", async () => {
    const reply = await call("POST", "/v1/rides/quote", { token: "not.a.jwt", body: trip("pop") });
    expect(reply.status).toBe(401);
  });

  it("answers 422 outside_service_area for a trip in Rio de Janeiro", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip("pop", COPACABANA, CENTRO_RIO),
    });
    expectProblem(reply, 422, "outside_service_area");
    expect(reply.json.errors).toEqual([{ path: "pickup", message: expect.any(String) }]);
  });

  it("answers 422 outside_service_area for a São Paulo pickup with a dropoff in Rio", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip("pop", PRACA_DA_SE, CENTRO_RIO),
    });
    expectProblem(reply, 422, "outside_service_area");
    expect(reply.json.errors).toEqual([{ path: "dropoff", message: expect.any(String) }]);
  });

  it("answers 422 category_not_offered for a category São Paulo has no price for", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip("helicopter"),
    });
    expectProblem(reply, 422, "category_not_offered");
    expect(reply.json.errors).toEqual([{ path: "category", message: expect.any(String) }]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM quotes WHERE passenger_id = ?")
      .bind(passenger.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  describe.each([
    {
      name: "a latitude above 90",
      body: { ...trip("pop"), pickup: { lat: 91, lng: -46.6 } },
      path: "pickup.lat",
    },
    {
      name: "a longitude below -180",
      body: { ...trip("pop"), dropoff: { lat: -23.5, lng: -181 } },
      path: "dropoff.lng",
    },
    {
      name: "a latitude as text",
      body: { ...trip("pop"), pickup: { lat: "-23.5", lng: -46.6 } },
      path: "pickup.lat",
    },
    { name: "a missing dropoff", body: { pickup: PRACA_DA_SE, category: "pop" }, path: "dropoff" },
    { name: "a missing category", body: { pickup: PRACA_DA_SE, dropoff: MASP }, path: "category" },
    { name: "an empty category", body: trip(""), path: "category" },
    { name: "an upper-case category", body: trip("POP"), path: "category" },
    { name: "a category over 32 characters", body: trip("p".repeat(33)), path: "category" },
    { name: "the same point twice", body: trip("pop", PRACA_DA_SE, PRACA_DA_SE), path: "dropoff" },
    { name: "points 30 m apart", body: trip("pop", PRACA_DA_SE, north(PRACA_DA_SE, 30)), path: "dropoff" },
    {
      name: "a pickup just past the pole, 11 m from the dropoff (only the range error)",
      body: trip("pop", { lat: 90.0001, lng: 0 }, { lat: 90, lng: 0 }),
      path: "pickup.lat",
    },
  ])("with $name", ({ body, path }) => {
    it(`answers 400 validation_failed at ${path}`, async () => {
      const passenger = await registerUser("passenger");
      const reply = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body });
      expectProblem(reply, 400, "validation_failed");
      const paths = new Set(reply.json.errors.map((e: { path: string }) => e.path));
      expect([...paths]).toEqual([path]);
    });
  });

  it("accepts points 60 m apart", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip("pop", PRACA_DA_SE, north(PRACA_DA_SE, 60)),
    });
    expect(reply.status, reply.text).toBe(200);
    // 78 m by road in 11 s: 500 + 11.7 + 5.5 = 517.2, below the minimum: 800 + 100
    expect(reply.json.estimated_fare_cents).toBe(900);
  });

  it("prices with the latest version already in force, ignoring one dated in the future", async () => {
    const passenger = await registerUser("passenger");
    const category = newCategory();
    const first = await insertRule(category, "2026-01-01T00:00:00.000Z", { base_fare_cents: 100 });
    const current = await insertRule(category, ago(60_000), {
      base_fare_cents: 600,
      per_km_cents: 170,
      surge_multiplier_bp: 15_000,
    });
    const future = await insertRule(category, fromNow(86_400_000), { base_fare_cents: 9_999 });

    const reply = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: trip(category),
    });
    expect(reply.status, reply.text).toBe(200);
    const route = await greatCircleRouting.route(PRACA_DA_SE, MASP);
    const rule = await ruleById(createServiceContext(env), current);
    expect(rule).toBeDefined();
    expect(reply.json).toMatchObject({
      estimated_fare_cents: computeFare(rule as NonNullable<typeof rule>, route),
      surge_multiplier: 1.5,
    });
    const row = await env.DB.prepare("SELECT pricing_rule_id, surge_multiplier_bp FROM quotes WHERE id = ?")
      .bind(reply.json.quote_id)
      .first();
    expect(row).toEqual({ pricing_rule_id: current, surge_multiplier_bp: 15_000 });
    expect([first, future]).not.toContain(row?.pricing_rule_id);
  });

  it("is listed in the OpenAPI document with its error codes", async () => {
    const reply = await call("GET", "/openapi.json");
    const post = reply.json.paths["/v1/rides/quote"]?.post;
    expect(post).toBeDefined();
    expect(post.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "403", "422"]));
    expect(post.responses["422"].description).toContain("outside_service_area");
    expect(post.responses["422"].description).toContain("category_not_offered");
  });
});

describe("pricing services", () => {
  const context = (overrides: Partial<ServiceContext> = {}): ServiceContext => ({
    ...createServiceContext(env),
    ...overrides,
  });

  it("keeps a valid quote's price, distance, duration and rule after a new pricing version", async () => {
    const passenger = await registerUser("passenger");
    const category = newCategory();
    const original = await insertRule(category, "2026-01-01T00:00:00.000Z");
    const ctx = context();
    const quote = await createQuote(ctx, passenger.id, trip(category));

    const newer = await insertRule(category, new Date().toISOString(), { base_fare_cents: 2_000 });
    const priced = await priceRide(ctx, passenger.id, { ...trip(category), quote_id: quote.quote_id });
    expect(priced).toMatchObject({
      city: {
        id: "sao_paulo",
        name: "São Paulo",
        timezone: "America/Sao_Paulo",
        paymentMethods: ["pix", "card", "cash"],
      },
      rule: { id: original },
      distance_m: quote.distance_m,
      duration_s: quote.duration_s,
      estimated_fare_cents: quote.estimated_fare_cents,
      quote_id: quote.quote_id,
    });

    // Without the quote the same trip is priced afresh, by the newer version: 1600 centavos more.
    const fresh = await priceRide(ctx, passenger.id, trip(category));
    expect(fresh).toMatchObject({ rule: { id: newer }, quote_id: null });
    expect(fresh.estimated_fare_cents).toBe(quote.estimated_fare_cents + 1_600);
  });

  it("keeps the quote for pickup and dropoff moved less than 100 m", async () => {
    const passenger = await registerUser("passenger");
    const ctx = context();
    const quote = await createQuote(ctx, passenger.id, trip("pop"));
    const moved = trip("pop", north(PRACA_DA_SE, 80), north(MASP, -80));
    const priced = await priceRide(ctx, passenger.id, { ...moved, quote_id: quote.quote_id });
    expect(priced.estimated_fare_cents).toBe(quote.estimated_fare_cents);
    expect(priced.quote_id).toBe(quote.quote_id);
  });

  it("answers quote_not_found for someone else's quote and for an unknown id", async () => {
    const owner = await registerUser("passenger");
    const other = await registerUser("passenger");
    const ctx = context();
    const quote = await createQuote(ctx, owner.id, trip("pop"));
    await expectApiError(
      priceRide(ctx, other.id, { ...trip("pop"), quote_id: quote.quote_id }),
      "quote_not_found",
    );
    await expectApiError(
      priceRide(ctx, owner.id, { ...trip("pop"), quote_id: "qte_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
      "quote_not_found",
    );
  });

  it("answers quote_expired from the moment the quote expires", async () => {
    const passenger = await registerUser("passenger");
    const quote = await createQuote(context(), passenger.id, trip("pop"));
    const expiresAt = Date.parse(quote.expires_at);
    const request = { ...trip("pop"), quote_id: quote.quote_id };

    const justBefore = context({ now: () => new Date(expiresAt - 1) });
    expect((await priceRide(justBefore, passenger.id, request)).quote_id).toBe(quote.quote_id);
    await expectApiError(
      priceRide(context({ now: () => new Date(expiresAt) }), passenger.id, request),
      "quote_expired",
    );
    const later = context({ now: () => new Date(Date.now() + QUOTE_TTL_MS + 1_000) });
    await expectApiError(priceRide(later, passenger.id, request), "quote_expired");
  });

  it("answers quote_mismatch for another category or points more than 100 m away", async () => {
    const passenger = await registerUser("passenger");
    const ctx = context();
    const quote = await createQuote(ctx, passenger.id, trip("pop"));
    const quote_id = quote.quote_id;

    await expectApiError(priceRide(ctx, passenger.id, { ...trip("comfort"), quote_id }), "quote_mismatch", [
      "category",
    ]);
    const farPickup = trip("pop", north(PRACA_DA_SE, 200), MASP);
    await expectApiError(priceRide(ctx, passenger.id, { ...farPickup, quote_id }), "quote_mismatch", [
      "pickup",
    ]);
    const farDropoff = trip("pop", PRACA_DA_SE, north(MASP, 150));
    await expectApiError(priceRide(ctx, passenger.id, { ...farDropoff, quote_id }), "quote_mismatch", [
      "dropoff",
    ]);
    const otherTrip = trip("comfort", north(PRACA_DA_SE, 500), north(MASP, 500));
    await expectApiError(priceRide(ctx, passenger.id, { ...otherTrip, quote_id }), "quote_mismatch", [
      "category",
      "pickup",
      "dropoff",
    ]);
  });

  it("estimates through the context's routing provider, so a real router can replace it", async () => {
    const passenger = await registerUser("passenger");
    const calls: [LatLng, LatLng][] = [];
    const fixed: RoutingProvider = {
      async route(from, to) {
        calls.push([from, to]);
        return { distance_m: 10_000, duration_s: 1_200 };
      },
    };
    const quote = await createQuote(context({ routing: fixed }), passenger.id, trip("pop"));
    // 500 + 150 × 10 km (1500) + 30 × 20 min (600) = 2600; + 100 fee = 2700
    expect(quote).toMatchObject({ distance_m: 10_000, duration_s: 1_200, estimated_fare_cents: 2_700 });
    expect(calls).toEqual([[PRACA_DA_SE, MASP]]);
  });

  it("does not call the router for a trip it will refuse", async () => {
    const passenger = await registerUser("passenger");
    let called = false;
    const spy: RoutingProvider = {
      async route() {
        called = true;
        return { distance_m: 1, duration_s: 1 };
      },
    };
    await expectApiError(
      createQuote(context({ routing: spy }), passenger.id, trip("helicopter")),
      "category_not_offered",
    );
    await expectApiError(
      createQuote(context({ routing: spy }), passenger.id, trip("pop", COPACABANA, CENTRO_RIO)),
      "outside_service_area",
    );
    expect(called).toBe(false);
  });

  it("computes the final fare from the reported trip with the ride's rule, never below the minimum", async () => {
    const ctx = context();
    // 500 + 150 × 10 + 30 × 20 = 2600; + 100 = 2700
    expect(await finalFare(ctx, "prc_sp_pop_2026", { distance_m: 10_000, duration_s: 1_200 })).toBe(2_700);
    // 700 + 210 × 10 + 40 × 20 = 3600; + 150 = 3750
    expect(await finalFare(ctx, "prc_sp_comfort_2026", { distance_m: 10_000, duration_s: 1_200 })).toBe(
      3_750,
    );
    // 500 + 15 + 3 = 518 < 800 → 800; + 100 = 900
    expect(await finalFare(ctx, "prc_sp_pop_2026", { distance_m: 100, duration_s: 6 })).toBe(900);
    await expect(finalFare(ctx, "prc_missing", { distance_m: 1, duration_s: 1 })).rejects.toThrow(/missing/);
  });
});
