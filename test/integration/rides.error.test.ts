import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import {
  onlineDriver,
  PAULISTA,
  postRide,
  requestedRide,
  requestRide,
  rideState,
  rideWithDriver,
  SE,
} from "../ride-helpers";

const RIO = { lat: -22.9068, lng: -43.1729 };

async function ridesOf(passengerId: string) {
  const { results } = await env.DB.prepare("SELECT id, status FROM rides WHERE passenger_id = ?")
    .bind(passengerId)
    .all<{ id: string; status: string }>();
  return results;
}

describe("POST /v1/rides refuses bad input and creates nothing", { timeout: 20_000 }, () => {
  const valid = { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" };
  const without = (field: keyof typeof valid) => {
    const { [field]: _dropped, ...rest } = valid;
    return rest;
  };

  describe.each([
    { case: "no pickup", body: without("pickup"), status: 400, code: "validation_failed", path: "pickup" },
    { case: "no dropoff", body: without("dropoff"), status: 400, code: "validation_failed", path: "dropoff" },
    {
      case: "no category",
      body: without("category"),
      status: 400,
      code: "validation_failed",
      path: "category",
    },
    {
      case: "no payment method",
      body: without("payment_method"),
      status: 400,
      code: "validation_failed",
      path: "payment_method",
    },
    { case: "an empty body", body: {}, status: 400, code: "validation_failed", path: "pickup" },
    {
      case: "a latitude above 90",
      body: { ...valid, pickup: { lat: 91, lng: -46.63 } },
      status: 400,
      code: "validation_failed",
      path: "pickup.lat",
    },
    {
      case: "a longitude below -180",
      body: { ...valid, dropoff: { lat: -23.56, lng: -181 } },
      status: 400,
      code: "validation_failed",
      path: "dropoff.lng",
    },
    {
      case: "a latitude given as text",
      body: { ...valid, pickup: { lat: "-23.55", lng: -46.63 } },
      status: 400,
      code: "validation_failed",
      path: "pickup.lat",
    },
    {
      case: "a pickup without lng",
      body: { ...valid, pickup: { lat: -23.55 } },
      status: 400,
      code: "validation_failed",
      path: "pickup.lng",
    },
    {
      case: "the same pickup and dropoff",
      body: { ...valid, dropoff: SE },
      status: 400,
      code: "validation_failed",
      path: "dropoff",
    },
    {
      case: "an unknown payment method",
      body: { ...valid, payment_method: "bitcoin" },
      status: 400,
      code: "validation_failed",
      path: "payment_method",
    },
    {
      case: "a malformed category",
      body: { ...valid, category: "Pop Luxo!" },
      status: 400,
      code: "validation_failed",
      path: "category",
    },
    {
      case: "a pickup outside São Paulo",
      body: { ...valid, pickup: RIO, dropoff: { lat: -22.9711, lng: -43.1822 } },
      status: 422,
      code: "outside_service_area",
      path: "pickup",
    },
    {
      case: "a dropoff outside São Paulo",
      body: { ...valid, dropoff: RIO },
      status: 422,
      code: "outside_service_area",
      path: "dropoff",
    },
    {
      case: "a category not offered in São Paulo",
      body: { ...valid, category: "helicopter" },
      status: 422,
      code: "category_not_offered",
      path: "category",
    },
  ])("$case", ({ body, status, code, path }) => {
    it(`answers ${status} ${code} naming ${path}`, async () => {
      const passenger = await registerUser("passenger");
      const reply = await call("POST", "/v1/rides", {
        token: passenger.accessToken,
        headers: { "idempotency-key": unique() },
        body,
      });
      expectProblem(reply, status, code);
      expect(reply.json.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      expect(await ridesOf(passenger.id)).toEqual([]);
    });
  });

  it("answers 400 malformed_json to a body that is not JSON", async () => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides", {
      token: passenger.accessToken,
      headers: { "idempotency-key": unique(), "content-type": "application/json" },
      raw: '{"pickup": {"lat": -23.55,',
    });
    expectProblem(reply, 400, "malformed_json");
    expect(await ridesOf(passenger.id)).toEqual([]);
  });

  it.each([
    ["no Idempotency-Key", undefined],
    ["an empty Idempotency-Key", ""],
    ["an Idempotency-Key with spaces", "my key"],
    ["an Idempotency-Key of 256 characters", "k".repeat(256)],
  ])("answers 400 idempotency_key_required to %s", async (_case, key) => {
    const passenger = await registerUser("passenger");
    const reply = await call("POST", "/v1/rides", {
      token: passenger.accessToken,
      headers: key === undefined ? {} : { "idempotency-key": key },
      body: valid,
    });
    expectProblem(reply, 400, "idempotency_key_required");
    expect(await ridesOf(passenger.id)).toEqual([]);
  });

  it("answers 409 passenger_has_active_ride while the passenger's ride is requested, then accepted", async () => {
    const { passenger, ride } = await requestedRide();
    const before = await rideState(ride.id);

    expectProblem(await requestRide(passenger), 409, "passenger_has_active_ride");
    expect(await rideState(ride.id)).toEqual(before);

    const driver = await onlineDriver();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    const accepted = await rideState(ride.id);
    expectProblem(await requestRide(passenger, { category: "comfort" }), 409, "passenger_has_active_ride");
    expect(await rideState(ride.id)).toEqual(accepted);
    expect(await ridesOf(passenger.id)).toEqual([{ id: ride.id, status: "accepted" }]);
  });

  it("lets the passenger request again once the ride is over", async () => {
    const { passenger, ride } = await requestedRide();
    expect(
      (await postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" })).status,
    ).toBe(200);
    const again = await requestRide(passenger);
    expect(again.status, again.text).toBe(201);
    expect(again.json.id).not.toBe(ride.id);
  });
});

type Stage = "requested" | "accepted" | "arrived" | "in_progress" | "completed" | "cancelled";
type Who = "passenger" | "driver" | "another driver";

/** A ride brought to `stage` by its passenger and (from accepted on) its driver. */
async function rideAt(stage: Stage) {
  if (stage === "requested") {
    const { passenger, ride } = await requestedRide();
    return { passenger, driver: undefined as TestUser | undefined, ride };
  }
  const steps = {
    accepted: [],
    arrived: ["arrive"],
    in_progress: ["arrive", "start"],
    cancelled: [],
  } as const;
  const made = await rideWithDriver(
    stage === "completed" ? ["arrive", "start", "complete"] : [...steps[stage]],
  );
  if (stage === "cancelled") {
    const cancelled = await postRide(made.passenger.accessToken, made.ride.id, "cancel", {
      reason: "changed plans",
    });
    expect(cancelled.status, cancelled.text).toBe(200);
  }
  return made;
}

describe("a transition the ride's status does not allow is refused and changes nothing", {
  timeout: 20_000,
}, () => {
  describe.each<{
    case: string;
    stage: Stage;
    who: Who;
    step: string;
    body?: unknown;
    status: number;
    code: string;
  }>([
    // Nobody is assigned to a requested ride, so no driver may move it past acceptance.
    {
      case: "arrive before accept",
      stage: "requested",
      who: "another driver",
      step: "arrive",
      status: 403,
      code: "forbidden",
    },
    {
      case: "start before accept",
      stage: "requested",
      who: "another driver",
      step: "start",
      status: 403,
      code: "forbidden",
    },
    {
      case: "start before arrive",
      stage: "accepted",
      who: "driver",
      step: "start",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "complete before arrive",
      stage: "accepted",
      who: "driver",
      step: "complete",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "complete before start",
      stage: "arrived",
      who: "driver",
      step: "complete",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "arrive twice",
      stage: "arrived",
      who: "driver",
      step: "arrive",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "start twice",
      stage: "in_progress",
      who: "driver",
      step: "start",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "complete twice",
      stage: "completed",
      who: "driver",
      step: "complete",
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "accept a completed ride",
      stage: "completed",
      who: "another driver",
      step: "accept",
      status: 409,
      code: "ride_not_requested",
    },
    {
      case: "accept a cancelled ride",
      stage: "cancelled",
      who: "another driver",
      step: "accept",
      status: 409,
      code: "ride_not_requested",
    },
    {
      case: "accept a ride another driver accepted",
      stage: "accepted",
      who: "another driver",
      step: "accept",
      status: 409,
      code: "ride_already_accepted",
    },
    {
      case: "accept a ride in progress with another driver",
      stage: "in_progress",
      who: "another driver",
      step: "accept",
      status: 409,
      code: "ride_already_accepted",
    },
    {
      case: "the passenger cancels a ride in progress",
      stage: "in_progress",
      who: "passenger",
      step: "cancel",
      body: { reason: "too slow" },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "the driver cancels a ride in progress",
      stage: "in_progress",
      who: "driver",
      step: "cancel",
      body: { reason: "traffic" },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "cancel a completed ride",
      stage: "completed",
      who: "passenger",
      step: "cancel",
      body: { reason: "late" },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "cancel a cancelled ride",
      stage: "cancelled",
      who: "passenger",
      step: "cancel",
      body: { reason: "again" },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "the passenger rates a requested ride",
      stage: "requested",
      who: "passenger",
      step: "rating",
      body: { stars: 5 },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "the passenger rates a ride in progress",
      stage: "in_progress",
      who: "passenger",
      step: "rating",
      body: { stars: 5 },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "the driver rates an accepted ride",
      stage: "accepted",
      who: "driver",
      step: "rating",
      body: { stars: 4 },
      status: 409,
      code: "invalid_transition",
    },
    {
      case: "the passenger rates a cancelled ride",
      stage: "cancelled",
      who: "passenger",
      step: "rating",
      body: { stars: 1 },
      status: 409,
      code: "invalid_transition",
    },
  ])("$case", ({ stage, who, step, body, status, code }) => {
    it(`answers ${status} ${code}`, async () => {
      const { passenger, driver, ride } = await rideAt(stage);
      const actor = who === "passenger" ? passenger : who === "driver" ? driver : await onlineDriver();
      if (!actor) throw new Error(`no ${who} at stage ${stage}`);
      const before = await rideState(ride.id);

      expectProblem(await postRide(actor.accessToken, ride.id, step, body), status, code);

      expect(await rideState(ride.id)).toEqual(before);
      const ratings = await env.DB.prepare("SELECT count(*) AS n FROM ratings WHERE ride_id = ?")
        .bind(ride.id)
        .first();
      expect(ratings).toEqual({ n: 0 });
    });
  });

  it("refuses a second rating by the same person with 409 already_rated and keeps the first", async () => {
    const { passenger, driver, ride } = await rideWithDriver(["arrive", "start", "complete"]);
    const first = await postRide(passenger.accessToken, ride.id, "rating", { stars: 5, comment: "Ótimo" });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({
      ride_id: ride.id,
      rater_id: passenger.id,
      ratee_id: driver.id,
      stars: 5,
    });
    const before = await rideState(ride.id);

    expectProblem(
      await postRide(passenger.accessToken, ride.id, "rating", { stars: 1 }),
      409,
      "already_rated",
    );

    expect(await rideState(ride.id)).toEqual(before);
    const { results } = await env.DB.prepare(
      "SELECT rater_id, ratee_id, stars, comment FROM ratings WHERE ride_id = ?",
    )
      .bind(ride.id)
      .all();
    expect(results).toEqual([{ rater_id: passenger.id, ratee_id: driver.id, stars: 5, comment: "Ótimo" }]);

    // The other party still has their own rating to give.
    const driverRating = await postRide(driver.accessToken, ride.id, "rating", { stars: 4 });
    expect(driverRating.status, driverRating.text).toBe(201);
    expect(driverRating.json).toMatchObject({ rater_id: driver.id, ratee_id: passenger.id });
  });

  it.each([
    ["0 stars", { stars: 0 }],
    ["6 stars", { stars: 6 }],
    ["2.5 stars", { stars: 2.5 }],
    ["no stars", { comment: "nice" }],
  ])("refuses a rating of %s with 400 validation_failed", async (_case, body) => {
    const { passenger, ride } = await rideWithDriver(["arrive", "start", "complete"]);
    expectProblem(await postRide(passenger.accessToken, ride.id, "rating", body), 400, "validation_failed");
    const ratings = await env.DB.prepare("SELECT count(*) AS n FROM ratings WHERE ride_id = ?")
      .bind(ride.id)
      .first();
    expect(ratings).toEqual({ n: 0 });
  });

  it.each([
    ["no reason", {}],
    ["an empty reason", { reason: "  " }],
    ["a reason of 281 characters", { reason: "x".repeat(281) }],
  ])("refuses a cancellation with %s (400) and keeps the ride", async (_case, body) => {
    const { passenger, ride } = await requestedRide();
    const before = await rideState(ride.id);
    expectProblem(await postRide(passenger.accessToken, ride.id, "cancel", body), 400, "validation_failed");
    expect(await rideState(ride.id)).toEqual(before);
  });

  it("refuses a completion with a negative distance (400) and keeps the ride in progress", async () => {
    const { driver, ride } = await rideWithDriver(["arrive", "start"]);
    const before = await rideState(ride.id);
    expectProblem(
      await postRide(driver.accessToken, ride.id, "complete", { distance_m: -1, duration_s: 60 }),
      400,
      "validation_failed",
    );
    expect(await rideState(ride.id)).toEqual(before);
  });

  it("answers 404 not_found for a ride that does not exist", async () => {
    const driver = await onlineDriver();
    expectProblem(
      await postRide(driver.accessToken, "ride_01NOSUCHRIDE000000000000000", "accept"),
      404,
      "not_found",
    );
  });
});

describe("a driver who cannot take the ride is refused and the ride stays on offer", {
  timeout: 20_000,
}, () => {
  it("answers 409 vehicle_required to a driver without a vehicle", async () => {
    const { ride } = await requestedRide();
    const driver = await registerUser("driver");
    const before = await rideState(ride.id);
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "vehicle_required");
    expect(await rideState(ride.id)).toEqual(before);
    expect(before.row).toMatchObject({ status: "requested", driver_id: null });
  });

  it("answers 409 driver_offline to a driver who went offline", async () => {
    const { ride } = await requestedRide();
    const driver = await onlineDriver();
    const offline = await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    expect(offline.status, offline.text).toBe(200);
    const before = await rideState(ride.id);
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "driver_offline");
    expect(await rideState(ride.id)).toEqual(before);
  });

  it("answers 409 vehicle_category_mismatch to a comfort driver on a pop ride", async () => {
    const { ride } = await requestedRide({ category: "pop" });
    const driver = await onlineDriver("comfort");
    const before = await rideState(ride.id);
    expectProblem(await postRide(driver.accessToken, ride.id, "accept"), 409, "vehicle_category_mismatch");
    expect(await rideState(ride.id)).toEqual(before);

    // The ride is still there for a driver who can take it.
    const pop = await onlineDriver("pop");
    const accepted = await postRide(pop.accessToken, ride.id, "accept");
    expect(accepted.status, accepted.text).toBe(200);
  });
});
