import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import { north, type Point } from "../dispatch-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { onlineDriver, postRide } from "../ride-helpers";

// A city's own credit floor is stricter-only: a driver whose credit sits between the global floor
// (seeded −2000) and a city's (−500) is offered and accepts rides elsewhere, and is neither
// offered nor allowed to accept one in that city.

const CITIES = "/v1/admin/cities";
const GLOBAL_FLOOR = -2000;
const RIO_AREA = [
  [-43.8, -23.1],
  [-43.1, -23.1],
  [-43.1, -22.75],
  [-43.8, -22.75],
  [-43.8, -23.1],
];
const rio = (overrides: Record<string, unknown> = {}) => ({
  id: "rio_de_janeiro",
  name: "Rio de Janeiro",
  timezone: "America/Sao_Paulo",
  payment_methods: ["pix", "cash"],
  categories: ["pop"],
  service_area: RIO_AREA,
  reason: "launching Rio",
  ...overrides,
});

/** Far from the other test files' São Paulo spots (each file has its own storage anyway). */
const SAO_PAULO_PICKUP = { lat: -23.62, lng: -46.7 };
const RIO_PICKUP = { lat: -22.9068, lng: -43.1729 };

async function cityRow(id: string) {
  return env.DB.prepare("SELECT credit_floor_cents FROM cities WHERE id = ?").bind(id).first();
}

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return Number(row?.n);
}

/** Lowers the driver's prepaid credit to `cents` (as a cash ride's commission would). */
async function setCredit(driverId: string, cents: number) {
  await post(createServiceContext(env), {
    idempotencyKey: `test:${unique()}`,
    kind: "test.credit_adjustment",
    reference: { type: "test", id: driverId },
    effectiveAt: new Date(),
    lines: [
      { account: driverAccount(driverId, "credit"), amount: -cents },
      { account: platformAccount("revenue"), amount: cents },
    ],
  });
}

async function requestAt(pickup: Point) {
  const passenger = await registerUser("passenger");
  const reply = await call("POST", "/v1/rides", {
    token: passenger.accessToken,
    headers: { "idempotency-key": unique() },
    body: { pickup, dropoff: north(pickup, 3000), category: "pop", payment_method: "pix" },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id as string;
}

/** The drivers of the ride's first batch of offers (sent by the room's alarm, in the background). */
async function firstBatch(rideId: string): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const { results } = await env.DB.prepare(
      "SELECT driver_id FROM ride_offers WHERE ride_id = ? AND batch = 1 ORDER BY distance_m",
    )
      .bind(rideId)
      .all<{ driver_id: string }>();
    if (results.length > 0) return results.map((r) => r.driver_id);
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`ride ${rideId} was offered to nobody`);
}

/** A driver online at the point whose credit sits between the global floor and −500. */
async function indebtedDriver(at: Point): Promise<TestUser> {
  const driver = await onlineDriver("pop", at);
  await setCredit(driver.id, -1000);
  return driver;
}

describe("a city's own credit floor", { timeout: 60_000 }, () => {
  it("is set, changed and cleared through the cities routes, audited, and only ever stricter", async () => {
    const admin = await createStaff("admin");
    const [cities, audits] = [await count("cities"), await count("audit_logs")];
    // Less strict than the global floor, positive, or not whole: refused, nothing written.
    for (const [floor, why] of [
      [GLOBAL_FLOOR - 1, "below the global floor"],
      [100, "positive"],
      [-10.5, "not whole"],
    ] as const) {
      const refused = await call("POST", CITIES, {
        token: admin.accessToken,
        body: rio({ credit_floor_cents: floor }),
      });
      expectProblem(refused, 400, "validation_failed");
      expect(
        refused.json.errors.map((e: { path: string }) => e.path),
        why,
      ).toContain("credit_floor_cents");
    }
    expect([await count("cities"), await count("audit_logs")]).toEqual([cities, audits]);

    const created = await call("POST", CITIES, {
      token: admin.accessToken,
      body: rio({ credit_floor_cents: -500 }),
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.credit_floor_cents).toBe(-500);
    expect(await cityRow("rio_de_janeiro")).toEqual({ credit_floor_cents: -500 });

    const looser = await call("PATCH", `${CITIES}/rio_de_janeiro`, {
      token: admin.accessToken,
      body: { credit_floor_cents: GLOBAL_FLOOR - 500, reason: "more room for drivers" },
    });
    expectProblem(looser, 400, "validation_failed");
    expect(await cityRow("rio_de_janeiro")).toEqual({ credit_floor_cents: -500 });

    const changed = await call("PATCH", `${CITIES}/rio_de_janeiro`, {
      token: admin.accessToken,
      body: { credit_floor_cents: -800, reason: "a little more room" },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json.credit_floor_cents).toBe(-800);
    const audit = await env.DB.prepare(
      "SELECT before, after FROM audit_logs WHERE target_id = 'rio_de_janeiro' AND action = 'city.update'",
    ).first<{ before: string; after: string }>();
    expect(JSON.parse(String(audit?.before)).credit_floor_cents).toBe(-500);
    expect(JSON.parse(String(audit?.after)).credit_floor_cents).toBe(-800);

    // Another change leaves it alone; null gives the city back the global floor.
    const renamed = await call("PATCH", `${CITIES}/rio_de_janeiro`, {
      token: admin.accessToken,
      body: { name: "Rio", reason: "shorter name" },
    });
    expect(renamed.json.credit_floor_cents).toBe(-800);
    const cleared = await call("PATCH", `${CITIES}/rio_de_janeiro`, {
      token: admin.accessToken,
      body: { credit_floor_cents: null, reason: "back to the global floor" },
    });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.json.credit_floor_cents).toBeNull();
    expect(await cityRow("rio_de_janeiro")).toEqual({ credit_floor_cents: null });
  });

  it("keeps a driver between the floors from being offered or accepting rides there, not elsewhere", async () => {
    const admin = await createStaff("admin");
    const created = await call("POST", CITIES, {
      token: admin.accessToken,
      // Smaller than the first test's Rio, so its box is picked first where both hold a point.
      body: rio({
        id: "rio_floor",
        credit_floor_cents: -500,
        service_area: [
          [-43.3, -23.0],
          [-43.1, -23.0],
          [-43.1, -22.85],
          [-43.3, -22.85],
          [-43.3, -23.0],
        ],
      }),
    });
    expect(created.status, created.text).toBe(201);
    for (const [path, body] of [
      [
        "/v1/admin/pricing",
        {
          city_id: "rio_floor",
          category: "pop",
          base_fare_cents: 450,
          per_km_cents: 175,
          per_minute_cents: 25,
          minimum_fare_cents: 900,
          booking_fee_cents: 120,
          cancellation_fee_cents: 600,
          reason: "launch prices",
        },
      ],
      ["/v1/admin/commission", { city_id: "rio_floor", category: "pop", rate_bp: 1800, reason: "launch" }],
    ] as const) {
      const reply = await call("POST", path, { token: admin.accessToken, body });
      expect(reply.status, reply.text).toBe(201);
    }

    // São Paulo has no floor of its own: the global one lets him work.
    const paulista = await indebtedDriver(north(SAO_PAULO_PICKUP, 100));
    const spRide = await requestAt(SAO_PAULO_PICKUP);
    expect(await firstBatch(spRide)).toEqual([paulista.id]);
    const accepted = await postRide(paulista.accessToken, spRide, "accept");
    expect(accepted.status, accepted.text).toBe(200);

    // Rio's floor is stricter: the nearer, indebted driver is passed over for one farther away.
    const carioca = await indebtedDriver(north(RIO_PICKUP, 100));
    const solvent = await onlineDriver("pop", north(RIO_PICKUP, 900));
    const rioRide = await requestAt(RIO_PICKUP);
    expect(await firstBatch(rioRide)).toEqual([solvent.id]);
    const refused = await postRide(carioca.accessToken, rioRide, "accept");
    expectProblem(refused, 409, "driver_credit_insufficient");
    expect(refused.json.detail).toMatch(/-500/);
    const row = await env.DB.prepare("SELECT status, driver_id FROM rides WHERE id = ?")
      .bind(rioRide)
      .first();
    expect(row).toEqual({ status: "requested", driver_id: null });
    // His ledger account keeps the global floor: the city's is a gate on rides, not a ledger floor.
    const account = await env.DB.prepare("SELECT floor, balance FROM ledger_accounts WHERE id = ?")
      .bind(`driver:${carioca.id}:credit`)
      .first();
    expect(account).toEqual({ floor: GLOBAL_FLOOR, balance: -1000 });

    // Back at the global floor (null), the same driver may take the same ride.
    const cleared = await call("PATCH", `${CITIES}/rio_floor`, {
      token: admin.accessToken,
      body: { credit_floor_cents: null, reason: "back to the global floor" },
    });
    expect(cleared.status, cleared.text).toBe(200);
    const taken = await postRide(carioca.accessToken, rioRide, "accept");
    expect(taken.status, taken.text).toBe(200);
  });
});
