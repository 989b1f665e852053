import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { computeFare } from "../../src/services/pricing/fares";
import { call, createStaff, expectProblem, registerUser } from "../helpers";

const CITIES = "/v1/admin/cities";
const CENTRO_RIO = { lat: -22.9068, lng: -43.1729 };
const COPACABANA = { lat: -22.9711, lng: -43.1822 };
/** Inside Rio's bounding box but outside its (triangular) polygon. */
const RIO_BOX_CORNER = { lat: -22.76, lng: -43.79 };

// A triangle whose box holds RIO_BOX_CORNER while the triangle itself does not.
const RIO_AREA: [number, number][] = [
  [-43.8, -23.1],
  [-43.1, -23.1],
  [-43.1, -22.75],
  [-43.8, -23.1],
];

const rio = (overrides: Record<string, unknown> = {}) => ({
  id: "rio_de_janeiro",
  name: "Rio de Janeiro",
  timezone: "America/Sao_Paulo",
  payment_methods: ["pix", "card"],
  categories: ["pop"],
  service_area: RIO_AREA,
  reason: "launching Rio",
  ...overrides,
});

const RIO_POP = {
  city_id: "rio_de_janeiro",
  category: "pop",
  base_fare_cents: 450,
  per_km_cents: 175,
  per_minute_cents: 25,
  minimum_fare_cents: 900,
  booking_fee_cents: 120,
  cancellation_fee_cents: 600,
  reason: "launch prices",
};

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return Number(row?.n);
}

describe("cities", () => {
  it("adding Rio de Janeiro with its own prices is a few API calls", async () => {
    const admin = await createStaff("admin");
    const passenger = await registerUser("passenger");
    const trip = { pickup: CENTRO_RIO, dropoff: COPACABANA, category: "pop" };
    const outside = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip });
    expectProblem(outside, 422, "outside_service_area");

    const city = await call("POST", CITIES, { token: admin.accessToken, body: rio() });
    expect(city.status, city.text).toBe(201);
    expect(city.json).toMatchObject({
      id: "rio_de_janeiro",
      currency: "BRL",
      service_area: RIO_AREA,
      bounding_box: { min_lat: -23.1, max_lat: -22.75, min_lng: -43.8, max_lng: -43.1 },
      active: true,
    });
    const pricing = await call("POST", "/v1/admin/pricing", { token: admin.accessToken, body: RIO_POP });
    expect(pricing.status, pricing.text).toBe(201);
    const commission = await call("POST", "/v1/admin/commission", {
      token: admin.accessToken,
      body: { city_id: "rio_de_janeiro", category: "pop", rate_bp: 1800, reason: "launch commission" },
    });
    expect(commission.status, commission.text).toBe(201);

    const quote = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip });
    expect(quote.status, quote.text).toBe(200);
    const route = await createServiceContext(env).routing.route(CENTRO_RIO, COPACABANA);
    const expected = computeFare(
      {
        baseFareCents: 450,
        perKmCents: 175,
        perMinuteCents: 25,
        minimumFareCents: 900,
        bookingFeeCents: 120,
        surgeMultiplierBp: 10_000,
      },
      { distance_m: Math.round(route.distance_m), duration_s: Math.round(route.duration_s) },
    );
    expect(quote.json.estimated_fare_cents).toBe(expected);
    const row = await env.DB.prepare("SELECT city_id, pricing_rule_id FROM quotes WHERE id = ?")
      .bind(quote.json.quote_id)
      .first();
    expect(row).toEqual({ city_id: "rio_de_janeiro", pricing_rule_id: pricing.json.id });

    // Inside the box, outside the polygon: not served.
    const corner = await call("POST", "/v1/rides/quote", {
      token: passenger.accessToken,
      body: { ...trip, pickup: RIO_BOX_CORNER },
    });
    expectProblem(corner, 422, "outside_service_area");
    expect(corner.json.errors).toEqual([expect.objectContaining({ path: "pickup" })]);

    const audit = await env.DB.prepare(
      "SELECT actor_id, action, reason, before FROM audit_logs WHERE target_type = 'city' AND target_id = 'rio_de_janeiro'",
    ).all();
    expect(audit.results).toEqual([
      { actor_id: admin.id, action: "city.create", reason: "launching Rio", before: null },
    ]);
  });

  it("updates a city, audited before and after; deactivating it stops quotes there", async () => {
    const admin = await createStaff("admin");
    const passenger = await registerUser("passenger");
    const created = await call("POST", CITIES, {
      token: admin.accessToken,
      body: rio({
        id: "niteroi",
        name: "Niterói",
        service_area: [
          [-43.15, -22.95],
          [-43.0, -22.95],
          [-43.0, -22.85],
          [-43.15, -22.85],
          [-43.15, -22.95],
        ],
      }),
    });
    expect(created.status, created.text).toBe(201);
    await call("POST", "/v1/admin/pricing", {
      token: admin.accessToken,
      body: { ...RIO_POP, city_id: "niteroi" },
    });
    const trip = {
      pickup: { lat: -22.9, lng: -43.1 },
      dropoff: { lat: -22.88, lng: -43.08 },
      category: "pop",
    };
    expect((await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip })).status).toBe(
      200,
    );

    const changed = await call("PATCH", `${CITIES}/niteroi`, {
      token: admin.accessToken,
      body: { active: false, categories: ["pop", "comfort"], reason: "paused for carnival" },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({ active: false, categories: ["pop", "comfort"], name: "Niterói" });
    expectProblem(
      await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip }),
      422,
      "outside_service_area",
    );

    const audit = await env.DB.prepare(
      "SELECT before, after, reason FROM audit_logs WHERE target_type = 'city' AND target_id = 'niteroi' AND action = 'city.update'",
    ).first<{ before: string; after: string; reason: string }>();
    expect(JSON.parse(String(audit?.before))).toEqual(created.json);
    expect(JSON.parse(String(audit?.after))).toEqual(changed.json);
    expect(audit?.reason).toBe("paused for carnival");
    expect((await call("GET", `${CITIES}/niteroi`, { token: admin.accessToken })).json).toEqual(changed.json);
  });

  it("São Paulo is seeded with its box as its polygon and both categories", async () => {
    const ops = await createStaff("ops");
    const reply = await call("GET", `${CITIES}/sao_paulo`, { token: ops.accessToken });
    expect(reply.json).toMatchObject({
      timezone: "America/Sao_Paulo",
      currency: "BRL",
      categories: ["pop", "comfort"],
      service_area: [
        [-46.83, -24.01],
        [-46.36, -24.01],
        [-46.36, -23.35],
        [-46.83, -23.35],
        [-46.83, -24.01],
      ],
    });
    const list = await call("GET", CITIES, { token: ops.accessToken });
    expect(list.json.items.map((c: { id: string }) => c.id)).toContain("sao_paulo");
  });

  it("refuses bad input naming the field, changing nothing", async () => {
    const admin = await createStaff("admin");
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ timezone: "Mars/Olympus" }, 400, "validation_failed", "timezone"],
      [{ timezone: "not a zone" }, 400, "validation_failed", "timezone"],
      [{ currency: "USD" }, 400, "validation_failed", "currency"],
      [
        {
          service_area: [
            [-43.8, -23.1],
            [-43.1, -23.1],
            [-43.1, -22.75],
            [-43.0, -22.7],
          ],
        },
        400,
        "validation_failed",
        "service_area",
      ],
      [
        {
          service_area: [
            [-43.8, -23.1],
            [-43.1, -23.1],
            [-43.8, -23.1],
          ],
        },
        400,
        "validation_failed",
        "service_area",
      ],
      [
        {
          service_area: [
            [-43.8, -93.1],
            [-43.1, -23.1],
            [-43.1, -22.75],
            [-43.8, -93.1],
          ],
        },
        400,
        "validation_failed",
        "service_area.0.1",
      ],
      [{ id: "Rio!" }, 400, "validation_failed", "id"],
      [{ payment_methods: ["barter"] }, 400, "validation_failed", "payment_methods.0"],
      [{ reason: "" }, 400, "validation_failed", "reason"],
      [{ id: "sao_paulo" }, 409, "city_exists", "id"],
    ];
    const cities = await count("cities");
    const audits = await count("audit_logs");
    for (const [overrides, status, code, field] of cases) {
      const reply = await call("POST", CITIES, {
        token: admin.accessToken,
        body: rio({ id: "bad_city", ...overrides }),
      });
      expectProblem(reply, status, code);
      expect(
        reply.json.errors?.map((e: { path: string }) => e.path),
        JSON.stringify(overrides),
      ).toContain(field);
    }
    const dropped = await call("PATCH", `${CITIES}/sao_paulo`, {
      token: admin.accessToken,
      body: { categories: ["pop"], reason: "drop comfort" },
    });
    expectProblem(dropped, 400, "validation_failed");
    expect(dropped.json.errors).toEqual([expect.objectContaining({ path: "categories" })]);
    expectProblem(
      await call("PATCH", `${CITIES}/atlantis`, {
        token: admin.accessToken,
        body: { name: "Atlantis", reason: "myth" },
      }),
      404,
      "not_found",
    );
    expect(await count("cities")).toBe(cities);
    expect(await count("audit_logs")).toBe(audits);
    const support = await createStaff("support");
    expectProblem(
      await call("POST", CITIES, { token: support.accessToken, body: rio({ id: "support_city" }) }),
      403,
      "forbidden",
    );
  });
});
