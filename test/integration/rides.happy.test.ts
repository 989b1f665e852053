import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "../helpers";
import { bearer, completeAtDropoff, onlineDriver, openSocket, requestedRide } from "../ride-helpers";

describe("a ride from request to completion", () => {
  it("walks the lifecycle, keeps D1 and ride_events in step, and streams events in order", async () => {
    const { passenger, ride } = await requestedRide();
    expect(ride).toMatchObject({ status: "requested", passenger_id: passenger.id, driver_id: null, seq: 1 });
    expect(ride.estimated_fare_cents).toBeGreaterThan(0);

    const socket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    const driver = await onlineDriver();

    const accepted = await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json).toMatchObject({ status: "accepted", driver_id: driver.id });
    for (const step of ["arrive", "start"]) {
      const reply = await call("POST", `/v1/rides/${ride.id}/${step}`, { token: driver.accessToken });
      expect(reply.status, reply.text).toBe(200);
    }
    // At the dropoff; the distance and duration the app reports are recorded, never priced.
    const completed = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
    expect(completed.status, completed.text).toBe(200);
    // One position is too few to measure the trip: the passenger pays the quote.
    expect(completed.json).toMatchObject({
      status: "completed",
      final_fare_cents: ride.estimated_fare_cents,
      distance_m: null,
      driver_reported_distance_m: 3000,
      driver_reported_duration_s: 600,
      fare_review: null,
    });

    await socket.next((m) => m.type === "ride.completed");
    // A Pix ride's completion creates its charge: the QR follows, outside the ride's log (seq 0).
    await socket.next((m) => m.type === "payment.qr_generated");
    // The ride's events; the driver's position at the dropoff streams beside them (seq 0).
    const rideMessages = socket.messages.filter((m) => m.ride_id === ride.id && m.type !== "driver.location");
    const types = rideMessages.map((m) => m.type);
    expect(types).toEqual([
      "ride.accepted",
      "ride.arrived",
      "ride.started",
      "ride.completed",
      "payment.qr_generated",
    ]);
    expect(rideMessages.map((m) => m.seq)).toEqual([2, 3, 4, 5, 0]);

    const row = await env.DB.prepare(
      "SELECT status, driver_id, final_fare_cents, last_seq FROM rides WHERE id = ?",
    )
      .bind(ride.id)
      .first();
    expect(row).toEqual({
      status: "completed",
      driver_id: driver.id,
      final_fare_cents: ride.estimated_fare_cents,
      last_seq: 5,
    });
    const events = await env.DB.prepare("SELECT seq, type FROM ride_events WHERE ride_id = ? ORDER BY seq")
      .bind(ride.id)
      .all();
    expect(events.results.map((e) => e.type)).toEqual([
      "ride.created",
      "ride.accepted",
      "ride.arrived",
      "ride.started",
      "ride.completed",
    ]);

    const replay = await openSocket(`/v1/rides/${ride.id}/ws?since=3`, bearer(passenger.accessToken));
    await replay.next((m) => m.type === "ride.completed");
    expect(replay.messages.map((m) => m.seq)).toEqual([4, 5]);
  });
});

describe("driver location during a ride", () => {
  it("reaches the passenger's socket through POST /v1/drivers/me/location without a D1 write", async () => {
    const { passenger, ride } = await requestedRide();
    const driver = await onlineDriver();
    expect((await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken })).status).toBe(
      200,
    );
    const before = await env.DB.prepare("SELECT last_lat, last_seen_at FROM drivers WHERE user_id = ?")
      .bind(driver.id)
      .first();
    const socket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    const moved = { lat: -23.5506, lng: -46.634, heading: 90, speed: 6 };
    const reply = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: moved });
    expect(reply.status, reply.text).toBe(202);
    const event = await socket.next((m) => m.type === "driver.location");
    expect(event).toMatchObject({ seq: 0, ride_id: ride.id, data: moved });
    const after = await env.DB.prepare("SELECT last_lat, last_seen_at FROM drivers WHERE user_id = ?")
      .bind(driver.id)
      .first();
    expect(after).toEqual(before);
  });
});

describe("a room that missed a write D1 kept", () => {
  it("catches up from D1, publishes the missed event, and applies the next transition", async () => {
    const { passenger, ride } = await requestedRide();
    const driver = await onlineDriver();
    expect((await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken })).status).toBe(
      200,
    );
    const socket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    // An "arrive" that reached D1 but whose reply never reached the room.
    const at = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE rides SET status = 'arrived', arrived_at = ?, last_seq = 3, updated_at = ? WHERE id = ?",
      ).bind(at, at, ride.id),
      env.DB.prepare(
        "INSERT INTO ride_events (ride_id, seq, type, actor_id, data, at) VALUES (?, 3, 'ride.arrived', ?, '{}', ?)",
      ).bind(ride.id, driver.id, at),
    ]);

    const started = await call("POST", `/v1/rides/${ride.id}/start`, { token: driver.accessToken });
    expect(started.status, started.text).toBe(200);
    expect(started.json).toMatchObject({ status: "in_progress", seq: 4 });
    await socket.next((m) => m.type === "ride.started");
    expect(socket.messages.filter((m) => m.seq > 2).map((m) => [m.seq, m.type])).toEqual([
      [3, "ride.arrived"],
      [4, "ride.started"],
    ]);
  });

  it("answers a driver's retried accept with the ride, not a conflict", async () => {
    const { ride } = await requestedRide();
    const driver = await onlineDriver();
    const first = await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken });
    const retry = await call("POST", `/v1/rides/${ride.id}/accept`, { token: driver.accessToken });
    expect(first.status).toBe(200);
    expect(retry.status, retry.text).toBe(200);
    expect(retry.json).toEqual(first.json);
  });
});
