import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ApiClient, createApiClient, type Problem } from "../../clients/ts";
import { unique } from "../helpers";
import { approveDriverInD1 } from "../onboarding-helpers";
import { PAULISTA, SE } from "../ride-helpers";

/** A client as an app holds it: the token is read on each call, so a login after creation counts. */
function appClient() {
  const session: { token?: string } = {};
  const api = createApiClient({
    baseUrl: "http://api.test",
    token: () => session.token,
    fetch: (request) => exports.default.fetch(request),
  });
  return { api, session };
}

async function register(role: "passenger" | "driver") {
  const { api, session } = appClient();
  const email = `client-${unique()}@example.com`;
  const { data, error, response } = await api.POST("/v1/auth/register", {
    body: { name: "Typed Client", email, phone: "+5511987654321", password: "s3cure-enough-pass", role },
    // A client IP of its own, so per-IP limits do not couple this test with others.
    headers: {
      "cf-connecting-ip": `10.77.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
    },
  });
  expect(response.status, JSON.stringify(error)).toBe(201);
  if (!data) throw new Error("no session in the reply");
  expect(data).toMatchObject({ user: { email, role }, token_type: "Bearer" });
  session.token = data.access_token;
  return { api, user: data.user };
}

async function goOnline(api: ApiClient, driverId: string) {
  await approveDriverInD1(driverId);
  const vehicle = await api.PUT("/v1/drivers/me/vehicle", {
    body: { plate: "ABC1D23", model: "Onix", color: "Prata", category: "pop" },
  });
  expect(vehicle.response.status, JSON.stringify(vehicle.error)).toBe(200);
  expect(vehicle.data).toMatchObject({ vehicle: { plate: "ABC1D23", category: "pop" } });
  const online = await api.POST("/v1/drivers/me/online", { body: SE });
  expect(online.response.status, JSON.stringify(online.error)).toBe(200);
  expect(online.data).toMatchObject({ status: "online" });
}

describe("the typed client (clients/ts) against the Worker", () => {
  it("drives a ride from quote to completion, and reads a refusal as a typed problem", async () => {
    const passenger = await register("passenger");
    const driver = await register("driver");
    const rival = await register("driver");
    await goOnline(driver.api, driver.user.id);
    await goOnline(rival.api, rival.user.id);

    const quote = await passenger.api.POST("/v1/rides/quote", {
      body: { pickup: SE, dropoff: PAULISTA, category: "pop" },
    });
    expect(quote.response.status, JSON.stringify(quote.error)).toBe(200);
    if (!quote.data) throw new Error("no quote in the reply");
    expect(quote.data).toMatchObject({ category: "pop", currency: "BRL" });
    expect(quote.data.estimated_fare_cents).toBeGreaterThan(0);

    const created = await passenger.api.POST("/v1/rides", {
      params: { header: { "idempotency-key": unique() } },
      body: {
        pickup: SE,
        dropoff: PAULISTA,
        category: "pop",
        payment_method: "pix",
        quote_id: quote.data.quote_id,
      },
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    if (!created.data) throw new Error("no ride in the reply");
    const id = created.data.id;
    expect(created.data).toMatchObject({
      status: "requested",
      passenger_id: passenger.user.id,
      driver_id: null,
      quote_id: quote.data.quote_id,
      estimated_fare_cents: quote.data.estimated_fare_cents,
      seq: 1,
    });

    const ride = { params: { path: { id } } };
    const accepted = await driver.api.POST("/v1/rides/{id}/accept", ride);
    expect(accepted.response.status, JSON.stringify(accepted.error)).toBe(200);
    expect(accepted.data).toMatchObject({ id, status: "accepted", driver_id: driver.user.id, seq: 2 });

    const again = await rival.api.POST("/v1/rides/{id}/accept", ride);
    expect(again.response.status).toBe(409);
    expect(again.response.headers.get("content-type")).toContain("application/problem+json");
    expect(again.data).toBeUndefined();
    // The error branch is typed from the document: a Problem whose `code` is a known union.
    const problem: Problem | undefined = again.error;
    const code: Problem["code"] | undefined = problem?.code;
    expect(code).toBe("ride_already_accepted");
    expect(problem).toMatchObject({ status: 409, type: "/problems/ride_already_accepted" });
    expect(typeof problem?.detail).toBe("string");

    const arrived = await driver.api.POST("/v1/rides/{id}/arrive", ride);
    expect(arrived.response.status, JSON.stringify(arrived.error)).toBe(200);
    expect(arrived.data).toMatchObject({ id, status: "arrived", seq: 3 });
    expect(arrived.data?.arrived_at).toEqual(expect.any(String));

    const started = await driver.api.POST("/v1/rides/{id}/start", ride);
    expect(started.response.status, JSON.stringify(started.error)).toBe(200);
    expect(started.data).toMatchObject({ id, status: "in_progress", seq: 4 });

    // At the dropoff: complete is refused far from it.
    const at = await driver.api.POST("/v1/drivers/me/location", { body: PAULISTA });
    expect(at.response.status, JSON.stringify(at.error)).toBe(202);
    const completed = await driver.api.POST("/v1/rides/{id}/complete", {
      ...ride,
      body: { distance_m: 3000, duration_s: 600 },
    });
    expect(completed.response.status, JSON.stringify(completed.error)).toBe(200);
    // The server sets the fare: the quote for a normal trip; the app's figures are only recorded.
    expect(completed.data).toMatchObject({
      id,
      status: "completed",
      final_fare_cents: quote.data.estimated_fare_cents,
      driver_reported_distance_m: 3000,
      driver_reported_duration_s: 600,
      seq: 5,
    });

    const read = await passenger.api.GET("/v1/rides/{id}", ride);
    expect(read.response.status, JSON.stringify(read.error)).toBe(200);
    expect(read.data).toEqual(completed.data);
  });

  it("sends no Authorization header without a token, and gets the typed 401 problem", async () => {
    const { api } = appClient();
    const { data, error, response } = await api.GET("/v1/me");
    expect(response.status).toBe(401);
    expect(data).toBeUndefined();
    expect(error).toMatchObject({ status: 401, code: "authentication_required" });
  });
});
