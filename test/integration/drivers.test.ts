import { env } from "cloudflare:workers";
import ngeohash from "ngeohash";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { cellOf, cellsWithin, haversineMeters, type LatLng, MAX_COVER_CELLS } from "../../src/lib/geo";
import { availableRidesQuery } from "../../src/services/drivers/available-rides";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { approveDriverInD1 } from "../onboarding-helpers";

// Paulista avenue; every position in these tests is an offset from the centre of its cell, so
// "same cell" and "neighbour cell" hold by construction (a 5-char cell is ±0.022° around it).
const CENTRE: LatLng = (() => {
  const { latitude, longitude } = ngeohash.decode(cellOf({ lat: -23.5614, lng: -46.6559 }));
  return { lat: latitude, lng: longitude };
})();
const offset = (from: LatLng, dLat: number, dLng: number): LatLng => ({
  lat: from.lat + dLat,
  lng: from.lng + dLng,
});

const VEHICLE = { plate: "BRA2E19", model: "Onix 1.0", color: "Prata", category: "pop" };

async function driverWithVehicle(vehicle: Partial<typeof VEHICLE> = {}) {
  const driver = await registerUser("driver");
  await approveDriverInD1(driver.id);
  const reply = await call("PUT", "/v1/drivers/me/vehicle", {
    token: driver.accessToken,
    body: { ...VEHICLE, ...vehicle },
  });
  expect(reply.status, reply.text).toBe(200);
  return driver;
}

async function onlineDriver(at: LatLng = CENTRE) {
  const driver = await driverWithVehicle();
  const reply = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: at });
  expect(reply.status, reply.text).toBe(200);
  return driver;
}

async function driverRow(driver: TestUser) {
  return env.DB.prepare("SELECT * FROM drivers WHERE user_id = ?").bind(driver.id).first<any>();
}

/** A passenger straight in D1: each requested ride needs its own (one active ride per passenger). */
async function insertPassenger(): Promise<string> {
  const id = `usr_P${unique().toUpperCase()}`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO users (id, role, status, name, email, phone, password_hash, created_at, updated_at) VALUES (?, 'passenger', 'active', 'Maria Secreta', ?, '+5511911112222', 'x', ?, ?)",
  )
    .bind(id, `p-${unique()}@example.com`, now, now)
    .run();
  return id;
}

interface RideSeed {
  pickup: LatLng;
  category: string;
  status?: string;
  driverId?: string | null;
  expiresInS?: number;
  fareCents?: number;
}

async function insertRide(seed: RideSeed): Promise<string> {
  const id = `ride_${unique().toUpperCase()}`;
  const now = Date.now();
  const status = seed.status ?? "requested";
  const dropoff = offset(seed.pickup, -0.02, 0.01);
  await env.DB.prepare(
    `INSERT INTO rides (id, status, passenger_id, driver_id, city_id, category, payment_method,
       pickup_lat, pickup_lng, pickup_cell, dropoff_lat, dropoff_lng, pricing_rule_id,
       estimated_fare_cents, estimated_distance_m, estimated_duration_s, expires_at, created_at,
       accepted_at, completed_at, updated_at)
     VALUES (?, ?, ?, ?, 'sao_paulo', ?, 'pix', ?, ?, ?, ?, ?, 'prc_sp_pop_2026', ?, 3200, 600, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      status,
      await insertPassenger(),
      seed.driverId ?? null,
      seed.category,
      seed.pickup.lat,
      seed.pickup.lng,
      cellOf(seed.pickup),
      dropoff.lat,
      dropoff.lng,
      seed.fareCents ?? 1850,
      new Date(now + (seed.expiresInS ?? 300) * 1000).toISOString(),
      new Date(now).toISOString(),
      status === "completed" ? new Date(now).toISOString() : null,
      status === "completed" ? new Date(now).toISOString() : null,
      new Date(now).toISOString(),
    )
    .run();
  return id;
}

/** The driver goes online at `at` (his stored position), then lists the rides around it. */
async function availableAt(driver: TestUser, at: LatLng, query = "") {
  const online = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: at });
  expect(online.status, online.text).toBe(200);
  return call("GET", `/v1/rides/available${query}`, { token: driver.accessToken });
}

/** A point as offers show it: pickup to 3 decimal places, dropoff to 2. */
const rounded = (point: LatLng, places: number) => ({
  lat: Number(point.lat.toFixed(places)),
  lng: Number(point.lng.toFixed(places)),
});

// ---------------------------------------------------------------------------------------------

describe("driver profile and vehicle", () => {
  it("shows a new driver as offline with no vehicle and no location", async () => {
    const driver = await registerUser("driver");
    const reply = await call("GET", "/v1/drivers/me", { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      user_id: driver.id,
      status: "offline",
      vehicle: null,
      location: null,
      last_seen_at: null,
    });
  });

  it("registers a vehicle, normalising the plate, and stores it", async () => {
    const driver = await registerUser("driver");
    const reply = await call("PUT", "/v1/drivers/me/vehicle", {
      token: driver.accessToken,
      body: { plate: "bra-2e19", model: " Onix 1.0 ", color: "Prata", category: "pop" },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      user_id: driver.id,
      status: "offline",
      vehicle: { plate: "BRA2E19", model: "Onix 1.0", color: "Prata", category: "pop" },
      location: null,
      last_seen_at: null,
    });
    expect(await driverRow(driver)).toMatchObject({
      status: "offline",
      vehicle_plate: "BRA2E19",
      vehicle_model: "Onix 1.0",
      vehicle_category: "pop",
    });
    const me = await call("GET", "/v1/drivers/me", { token: driver.accessToken });
    expect(me.json).toEqual(reply.json);
  });

  it("corrects the vehicle under the same plate and keeps the driver online", async () => {
    const driver = await onlineDriver();
    const reply = await call("PUT", "/v1/drivers/me/vehicle", {
      token: driver.accessToken,
      body: { plate: "bra 2e19", model: "HB20", color: "Branco", category: "comfort" },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "online",
      vehicle: { plate: "BRA2E19", model: "HB20", color: "Branco", category: "comfort" },
      location: CENTRE,
    });
    expect(await driverRow(driver)).toMatchObject({
      status: "online",
      vehicle_category: "comfort",
      onboarding_status: "approved",
    });
  });

  it("replaces the vehicle with another plate: offline, and back to documents before driving again", async () => {
    const driver = await onlineDriver();
    const reply = await call("PUT", "/v1/drivers/me/vehicle", {
      token: driver.accessToken,
      body: { plate: "abc 1234", model: "HB20", color: "Branco", category: "comfort" },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "offline",
      vehicle: { plate: "ABC1234", model: "HB20", color: "Branco", category: "comfort" },
      location: CENTRE,
    });
    expect(await driverRow(driver)).toMatchObject({
      status: "offline",
      vehicle_category: "comfort",
      onboarding_status: "pending_documents",
    });
    const again = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: CENTRE });
    expectProblem(again, 409, "driver_not_approved");
  });

  describe.each([
    ["a plate too short", { plate: "AB1234" }, "plate"],
    ["a plate with four letters", { plate: "ABCD123" }, "plate"],
    ["a plate starting with digits", { plate: "1234ABC" }, "plate"],
    ["a plate too long", { plate: "ABC12345" }, "plate"],
    ["a Mercosul plate with two letters", { plate: "ABC1DD3" }, "plate"],
    ["a plate with other symbols", { plate: "ABC_1234" }, "plate"],
    ["an empty plate", { plate: "" }, "plate"],
    ["a numeric plate", { plate: 1234567 }, "plate"],
    ["a blank model", { model: "   " }, "model"],
    ["a model of 61 characters", { model: "x".repeat(61) }, "model"],
    ["a missing color", { color: undefined }, "color"],
    ["an upper-case category", { category: "Pop" }, "category"],
    ["a category with a space", { category: "pop car" }, "category"],
    ["a category of 33 characters", { category: "c".repeat(33) }, "category"],
    ["an empty category", { category: "" }, "category"],
  ])("PUT /v1/drivers/me/vehicle with %s", (_name, change, path) => {
    it(`answers 400 naming ${path}`, async () => {
      const driver = await registerUser("driver");
      const reply = await call("PUT", "/v1/drivers/me/vehicle", {
        token: driver.accessToken,
        body: { ...VEHICLE, ...change },
      });
      expectProblem(reply, 400, "validation_failed");
      expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect(await driverRow(driver)).toBeNull();
    });
  });

  it.each([
    ["ABC1234", "ABC1234"],
    ["abc-1234", "ABC1234"],
    ["ABC1D23", "ABC1D23"],
    ["abc 1d23", "ABC1D23"],
  ])("accepts the plate %s as %s", async (plate, stored) => {
    const driver = await registerUser("driver");
    const reply = await call("PUT", "/v1/drivers/me/vehicle", {
      token: driver.accessToken,
      body: { ...VEHICLE, plate },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.vehicle.plate).toBe(stored);
  });
});

describe("driver routes are for drivers only", () => {
  const routes: [string, string, unknown][] = [
    ["GET", "/v1/drivers/me", undefined],
    ["PUT", "/v1/drivers/me/vehicle", VEHICLE],
    ["POST", "/v1/drivers/me/online", CENTRE],
    ["POST", "/v1/drivers/me/offline", undefined],
    ["POST", "/v1/drivers/me/location", CENTRE],
    ["GET", `/v1/rides/available?lat=${CENTRE.lat}&lng=${CENTRE.lng}`, undefined],
  ];

  describe.each(routes)("%s %s", (method, path, body) => {
    it("answers 403 to a passenger", async () => {
      const passenger = await registerUser("passenger");
      expectProblem(await call(method, path, { token: passenger.accessToken, body }), 403, "forbidden");
    });

    it("answers 401 without a token", async () => {
      expectProblem(await call(method, path, { body }), 401, "authentication_required");
    });
  });

  it("documents every driver route as bearer-protected with a 403", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    for (const [method, path] of routes) {
      const operation = doc.paths[path.split("?")[0] as string][method.toLowerCase()];
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      expect(operation.responses["403"].description).toContain("forbidden");
    }
  });

  it("writes no drivers row for a refused passenger", async () => {
    const passenger = await registerUser("passenger");
    await call("PUT", "/v1/drivers/me/vehicle", { token: passenger.accessToken, body: VEHICLE });
    const row = await env.DB.prepare("SELECT 1 FROM drivers WHERE user_id = ?").bind(passenger.id).first();
    expect(row).toBeNull();
  });
});

describe("going online and offline", () => {
  it("refuses to go online without a vehicle", async () => {
    const driver = await registerUser("driver");
    const reply = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: CENTRE });
    expectProblem(reply, 409, "vehicle_required");
    expect(await driverRow(driver)).toBeNull();
  });

  it("goes online with the position and cell, then offline, as the D1 row shows", async () => {
    const driver = await driverWithVehicle();
    const before = Date.now();
    const online = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: CENTRE });
    expect(online.status, online.text).toBe(200);
    expect(online.json).toMatchObject({ user_id: driver.id, status: "online", location: CENTRE });
    expect(Date.parse(online.json.last_seen_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(await driverRow(driver)).toMatchObject({
      status: "online",
      last_lat: CENTRE.lat,
      last_lng: CENTRE.lng,
      last_cell: cellOf(CENTRE),
      last_seen_at: online.json.last_seen_at,
    });

    const offline = await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    expect(offline.status, offline.text).toBe(200);
    expect(offline.json).toMatchObject({ status: "offline", location: CENTRE, vehicle: VEHICLE });
    expect(await driverRow(driver)).toMatchObject({ status: "offline", vehicle_plate: VEHICLE.plate });

    const again = await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    expect(again.json.status).toBe("offline");
  });

  it("lets a driver without a row go offline (nothing to do)", async () => {
    const driver = await registerUser("driver");
    const reply = await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ status: "offline", vehicle: null });
  });

  it.each([
    ["a missing lng", { lat: -23.5 }, "lng"],
    ["a latitude above 90", { lat: 91, lng: -46.6 }, "lat"],
    ["a longitude below -180", { lat: -23.5, lng: -181 }, "lng"],
    ["a string latitude", { lat: "-23.5", lng: -46.6 }, "lat"],
  ])("refuses to go online with %s", async (_name, body, path) => {
    const driver = await driverWithVehicle();
    const reply = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors[0].path).toBe(path);
  });
});

describe("location pings", () => {
  it("refuses a location while offline", async () => {
    const driver = await driverWithVehicle();
    const reply = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: CENTRE });
    expectProblem(reply, 409, "driver_offline");
  });

  it("refuses a location from a driver who went offline", async () => {
    const driver = await onlineDriver();
    await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    const reply = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: CENTRE });
    expectProblem(reply, 409, "driver_offline");
  });

  it.each([
    ["a heading above 360", { heading: 361 }, "heading"],
    ["a negative speed", { speed: -1 }, "speed"],
    ["a missing lat", { lat: undefined }, "lat"],
  ])("refuses a location with %s", async (_name, change, path) => {
    const driver = await onlineDriver();
    const reply = await call("POST", "/v1/drivers/me/location", {
      token: driver.accessToken,
      body: { ...CENTRE, heading: 90, speed: 8.5, ...change },
    });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors[0].path).toBe(path);
  });
  // Where a ping goes (the area's driver index, D1 only in its snapshot): driver-index.test.ts.
});

describe("GET /v1/rides/available", () => {
  /** A driver of a category of its own, so rides made by other tests in this file never show up. */
  async function scenario() {
    const category = `pop_${unique()}`;
    const driver = await driverWithVehicle({ category });
    return { driver, category };
  }

  it("answers 422 outside_service_area near a pole, where the radius would cover too many cells", async () => {
    const { driver } = await scenario();
    const polar = { lat: 88, lng: -46.6559 };
    expect(cellsWithin(polar, 5000).length).toBeGreaterThan(MAX_COVER_CELLS);
    expectProblem(await availableAt(driver, polar), 422, "outside_service_area");
    expect((await availableAt(driver, CENTRE)).status).toBe(200);
  });

  it("lists requested rides of the driver's category nearest first, within the radius", async () => {
    const { driver, category } = await scenario();
    const near = offset(CENTRE, 0.004, 0); // ~450 m, same cell
    const neighbour = offset(CENTRE, 0.03, 0); // ~3.3 km, the cell to the north
    const farCorner = offset(CENTRE, 0.06, 0.06); // ~9 km, beyond the 5 km radius
    const farAway = offset(CENTRE, 0.18, 0); // ~20 km, outside the scanned cells
    expect(cellOf(neighbour)).not.toBe(cellOf(CENTRE));
    expect(cellsWithin(CENTRE, 5000)).toContain(cellOf(neighbour));
    expect(cellsWithin(CENTRE, 5000)).not.toContain(cellOf(farAway));
    expect(haversineMeters(CENTRE, farCorner)).toBeGreaterThan(5000);

    const neighbourId = await insertRide({ pickup: neighbour, category, fareCents: 2400 });
    const nearId = await insertRide({ pickup: near, category, fareCents: 1500 });
    const farCornerId = await insertRide({ pickup: farCorner, category });
    const farAwayId = await insertRide({ pickup: farAway, category });

    const reply = await availableAt(driver, CENTRE);
    expect(reply.status, reply.text).toBe(200);
    const ids = reply.json.items.map((r: { id: string }) => r.id);
    expect(ids).toEqual([nearId, neighbourId]);
    expect(ids).not.toContain(farCornerId);
    expect(ids).not.toContain(farAwayId);

    const [first, second] = reply.json.items;
    expect(first).toEqual({
      id: nearId,
      category,
      pickup: rounded(near, 3),
      dropoff: rounded(offset(near, -0.02, 0.01), 2),
      estimated_fare_cents: 1500,
      payment_method: "pix",
      distance_to_pickup_m: Math.round(haversineMeters(CENTRE, near)),
      created_at: expect.any(String),
      expires_at: expect.any(String),
    });
    expect(first.distance_to_pickup_m).toBeGreaterThan(400);
    expect(first.distance_to_pickup_m).toBeLessThan(500);
    expect(second.distance_to_pickup_m).toBeGreaterThan(3000);
    expect(second.distance_to_pickup_m).toBeLessThan(3500);
    // Never passenger data.
    expect(reply.text).not.toMatch(/passenger|Maria Secreta|\+5511911112222|@example\.com/);
  });

  it("excludes other categories, rides no longer requested and expired requests", async () => {
    const { driver, category } = await scenario();
    const other = await scenario();
    const completedBy = await registerUser("driver");
    const at = offset(CENTRE, -0.003, 0.003);
    const wanted = await insertRide({ pickup: at, category });
    const excluded = [
      await insertRide({ pickup: at, category: other.category }),
      await insertRide({ pickup: at, category, status: "completed", driverId: completedBy.id }),
      await insertRide({ pickup: at, category, status: "cancelled" }),
      await insertRide({ pickup: at, category, status: "expired" }),
      await insertRide({ pickup: at, category, expiresInS: -5 }),
    ];

    const reply = await availableAt(driver, CENTRE);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.items.map((r: { id: string }) => r.id)).toEqual([wanted]);
    for (const id of excluded) expect(reply.text).not.toContain(id);

    const theirs = await availableAt(other.driver, CENTRE);
    expect(theirs.json.items.map((r: { id: string }) => r.id)).toEqual([excluded[0]]);
  });

  it("honours limit and answers an empty list where nothing is requested", async () => {
    const { driver, category } = await scenario();
    const ids = [];
    for (const dLat of [0.001, 0.002, 0.003])
      ids.push(await insertRide({ pickup: offset(CENTRE, dLat, 0), category }));
    const limited = await availableAt(driver, CENTRE, "?limit=2");
    expect(limited.status, limited.text).toBe(200);
    expect(limited.json.items.map((r: { id: string }) => r.id)).toEqual(ids.slice(0, 2));

    const elsewhere = await availableAt(driver, offset(CENTRE, 0.3, 0.3));
    expect(elsewhere.json).toEqual({ items: [] });
  });

  it("needs a vehicle", async () => {
    const driver = await registerUser("driver");
    expectProblem(
      await call("GET", "/v1/rides/available", { token: driver.accessToken }),
      409,
      "vehicle_required",
    );
  });

  it("searches around the driver's stored position: lat and lng in the query are ignored", async () => {
    const { driver, category } = await scenario();
    const id = await insertRide({ pickup: offset(CENTRE, 0.001, 0), category });
    const far = offset(CENTRE, 0.3, 0.3);
    const there = await availableAt(driver, far, `?lat=${CENTRE.lat}&lng=${CENTRE.lng}`);
    expect(there.status, there.text).toBe(200);
    expect(there.json).toEqual({ items: [] });
    const here = await availableAt(driver, CENTRE, `?lat=${far.lat}&lng=${far.lng}`);
    expect(here.json.items.map((r: { id: string }) => r.id)).toEqual([id]);
  });

  it.each([
    ["limit is 0", "limit=0"],
    ["limit is above 50", "limit=51"],
    ["limit is not a number", "limit=abc"],
  ])("answers 400 when %s", async (_name, query) => {
    const { driver } = await scenario();
    const reply = await availableAt(driver, CENTRE, `?${query}`);
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors[0].path).toBe("limit");
  });

  it("reads candidates through rides_requested_cell_idx, never a full scan of rides", async () => {
    const { driver } = await scenario();
    const query = availableRidesQuery(
      createDb(env.DB),
      driver.id,
      cellsWithin(CENTRE, 5000),
      new Date(),
    ).toSQL();
    expect(query.sql).toMatch(/"pickup_cell" in \(/i);
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const details = plan.results.map((row) => row.detail);
    expect(details.some((d) => /SEARCH rides USING INDEX rides_requested_cell_idx/.test(d))).toBe(true);
    expect(details.some((d) => /^SCAN rides\b/.test(d))).toBe(false);
  });
});
