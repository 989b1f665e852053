import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, registerUser, unique } from "../helpers";
import { onlineDriver, PAULISTA, postRide, requestRide, rideEvents, SE } from "../ride-helpers";

const RIO = { lat: -22.9068, lng: -43.1729 };

async function ridesOf(passengerId: string) {
  const { results } = await env.DB.prepare("SELECT id FROM rides WHERE passenger_id = ?")
    .bind(passengerId)
    .all();
  return results.map((r) => r.id);
}

async function storedKey(userId: string, key: string) {
  return env.DB.prepare("SELECT state, response_status FROM idempotency_keys WHERE user_id = ? AND key = ?")
    .bind(userId, key)
    .first();
}

describe("Idempotency-Key on POST /v1/rides", { timeout: 20_000 }, () => {
  it("replays the first reply for the same key and body, and creates one ride", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const first = await requestRide(passenger, {}, key);
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    const second = await requestRide(passenger, {}, key);
    expect(second.status, second.text).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.json).toEqual(first.json);

    expect(await ridesOf(passenger.id)).toEqual([first.json.id]);
    expect((await rideEvents(first.json.id)).map((e) => e.type)).toEqual(["ride.created"]);
    expect(await storedKey(passenger.id, key)).toEqual({ state: "completed", response_status: 201 });
  });

  it("treats the same JSON with other whitespace as the same request", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const body = { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" };
    const send = (raw: string) =>
      call("POST", "/v1/rides", {
        token: passenger.accessToken,
        headers: { "idempotency-key": key, "content-type": "application/json" },
        raw,
      });
    const first = await send(JSON.stringify(body));
    expect(first.status, first.text).toBe(201);
    const spaced = await send(JSON.stringify(body, null, 2));
    expect(spaced.status, spaced.text).toBe(201);
    expect(spaced.headers.get("idempotent-replayed")).toBe("true");
    expect(spaced.json.id).toBe(first.json.id);
  });

  it("replays the first reply even after the ride has moved on (it is a replay, not a read)", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const first = await requestRide(passenger, {}, key);
    expect(first.status).toBe(201);
    const driver = await onlineDriver();
    expect((await postRide(driver.accessToken, first.json.id, "accept")).status).toBe(200);
    const again = await requestRide(passenger, {}, key);
    expect(again.json).toMatchObject({ id: first.json.id, status: "requested", seq: 1 });
  });

  it("refuses the same key with another body with 422 idempotency_key_reused, and creates nothing", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const first = await requestRide(passenger, {}, key);
    expect(first.status).toBe(201);

    const other = await requestRide(passenger, { payment_method: "cash" }, key);
    expectProblem(other, 422, "idempotency_key_reused");
    expect(other.headers.get("idempotent-replayed")).toBeNull();

    expect(await ridesOf(passenger.id)).toEqual([first.json.id]);
    // The key still replays its first reply.
    const replay = await requestRide(passenger, {}, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.id).toBe(first.json.id);
  });

  it("scopes keys to the caller: two passengers can use the same key", async () => {
    const [ana, bia] = await Promise.all([registerUser("passenger"), registerUser("passenger")]);
    const key = unique();
    const a = await requestRide(ana, {}, key);
    const b = await requestRide(bia, {}, key);
    expect(a.status, a.text).toBe(201);
    expect(b.status, b.text).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(a.json.id).not.toBe(b.json.id);
    expect(a.json.passenger_id).toBe(ana.id);
    expect(b.json.passenger_id).toBe(bia.id);
    expect(await ridesOf(ana.id)).toEqual([a.json.id]);
    expect(await ridesOf(bia.id)).toEqual([b.json.id]);
  });

  it("does not burn the key on a failure: the same request runs again, and a corrected one succeeds", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const outside = { pickup: RIO, dropoff: { lat: -22.9711, lng: -43.1822 } };

    const failed = await requestRide(passenger, outside, key);
    expectProblem(failed, 422, "outside_service_area");
    expect(await storedKey(passenger.id, key)).toBeNull(); // released, not stored

    // The same failing request is run again (not replayed from a stored failure)…
    const retried = await requestRide(passenger, outside, key);
    expectProblem(retried, 422, "outside_service_area");
    expect(retried.headers.get("idempotent-replayed")).toBeNull();

    // …and the corrected request, though its body (hence its hash) differs, takes the freed key.
    const corrected = await requestRide(passenger, { dropoff: PAULISTA }, key);
    expect(corrected.status, corrected.text).toBe(201);
    expect(corrected.headers.get("idempotent-replayed")).toBeNull();
    expect(await ridesOf(passenger.id)).toEqual([corrected.json.id]);

    // From now on the key belongs to the successful request.
    const replay = await requestRide(passenger, { dropoff: PAULISTA }, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.id).toBe(corrected.json.id);
    expectProblem(await requestRide(passenger, outside, key), 422, "idempotency_key_reused");
  });

  it("does not burn the key on a validation failure either", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    expectProblem(await requestRide(passenger, { payment_method: "bitcoin" }, key), 400, "validation_failed");
    const ok = await requestRide(passenger, {}, key);
    expect(ok.status, ok.text).toBe(201);
  });

  it("does not store a 409 passenger_has_active_ride under a new key", async () => {
    const passenger = await registerUser("passenger");
    const first = await requestRide(passenger);
    expect(first.status).toBe(201);
    const key = unique();
    expectProblem(await requestRide(passenger, {}, key), 409, "passenger_has_active_ride");
    expect(await storedKey(passenger.id, key)).toBeNull();
  });

  it("lets exactly one of five concurrent duplicates run: one ride, every reply is that ride or 409 in progress", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const replies = await Promise.all(Array.from({ length: 5 }, () => requestRide(passenger, {}, key)));

    const rides = await ridesOf(passenger.id);
    expect(rides).toHaveLength(1);
    const created = replies.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    for (const reply of replies) {
      if (reply.status === 201) {
        expect(reply.json.id).toBe(rides[0]);
      } else {
        expectProblem(reply, 409, "idempotency_in_progress");
        expect(reply.headers.get("retry-after")).toBe("1");
      }
    }
    expect((await rideEvents(String(rides[0]))).map((e) => e.type)).toEqual(["ride.created"]);

    // Once the first is done, a retry replays it.
    const later = await requestRide(passenger, {}, key);
    expect(later.status).toBe(201);
    expect(later.headers.get("idempotent-replayed")).toBe("true");
    expect(later.json.id).toBe(rides[0]);
  });

  it("answers replays before the rate limit: more replays than the limit allows are all replays, none 429", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const first = await requestRide(passenger, {}, key);
    expect(first.status, first.text).toBe(201);
    for (let i = 0; i < 12; i++) {
      const replay = await requestRide(passenger, {}, key);
      expect(replay.status, replay.text).toBe(201);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.json).toEqual(first.json);
    }
    expect(await ridesOf(passenger.id)).toEqual([first.json.id]);
  });

  it("stores the reply in the ride's own batch: the key holds exactly the body the client got", async () => {
    const passenger = await registerUser("passenger");
    const key = unique();
    const first = await requestRide(passenger, {}, key);
    expect(first.status, first.text).toBe(201);
    const row = await env.DB.prepare(
      "SELECT state, response_status, response_body FROM idempotency_keys WHERE user_id = ? AND key = ?",
    )
      .bind(passenger.id, key)
      .first<{ state: string; response_status: number; response_body: string }>();
    expect(row).toEqual({ state: "completed", response_status: 201, response_body: first.text });
  });

  it("lets only one of concurrent requests with different keys create a ride (one active ride per passenger)", async () => {
    const passenger = await registerUser("passenger");
    const replies = await Promise.all(Array.from({ length: 5 }, () => requestRide(passenger)));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 201))
      expectProblem(reply, 409, "passenger_has_active_ride");
    expect(await ridesOf(passenger.id)).toHaveLength(1);
  });
});
