import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { onlineDriver, postRide, rideRow } from "../ride-helpers";

// wrangler.toml: DRIVER_CANCEL_LIMIT 3 in DRIVER_CANCEL_WINDOW_SECONDS 3600, cool-down 1800 s.
const LIMIT = 3;
const COOLDOWN_SECONDS = 1800;

const PICKUP = { lat: -23.62, lng: -46.7 };
const DROPOFF = { lat: -23.6, lng: -46.69 };

const requested: { passenger: TestUser; rideId: string }[] = [];
afterEach(async () => {
  for (const { passenger, rideId } of requested.splice(0)) {
    if ((await rideRow(rideId))?.status === "requested") {
      await postRide(passenger.accessToken, rideId, "cancel", { reason: "test over" });
    }
  }
  await env.DB.prepare("UPDATE drivers SET status = 'offline'").run();
});

/** A new passenger's ride at the pickup, accepted then given back by the driver. */
async function acceptAndGiveBack(driver: TestUser) {
  const passenger = await registerUser("passenger");
  const reply = await call("POST", "/v1/rides", {
    token: passenger.accessToken,
    headers: { "idempotency-key": unique() },
    body: { pickup: PICKUP, dropoff: DROPOFF, category: "pop", payment_method: "cash" },
  });
  expect(reply.status, reply.text).toBe(201);
  const rideId = reply.json.id as string;
  requested.push({ passenger, rideId });
  const accepted = await postRide(driver.accessToken, rideId, "accept");
  expect(accepted.status, accepted.text).toBe(200);
  const cancelled = await postRide(driver.accessToken, rideId, "cancel", { reason: "changed my mind" });
  expect(cancelled.status, cancelled.text).toBe(200);
  expect(cancelled.json.status).toBe("requested");
  return rideId;
}

const driverRow = (driverId: string) =>
  env.DB.prepare("SELECT status, cooldown_until FROM drivers WHERE user_id = ?")
    .bind(driverId)
    .first<{ status: string; cooldown_until: string | null }>();

const cancellationsOf = async (driverId: string) =>
  (
    await env.DB.prepare("SELECT ride_id, reason FROM driver_cancellations WHERE driver_id = ? ORDER BY at")
      .bind(driverId)
      .all<{ ride_id: string; reason: string }>()
  ).results;

describe("driver cancellation limits", { timeout: 30_000 }, () => {
  it("the cancellation that reaches the limit takes him offline; going online is 409 driver_cooldown until it ends", async () => {
    const driver = await onlineDriver("pop", PICKUP);
    const rides: string[] = [];
    for (let i = 1; i < LIMIT; i++) {
      rides.push(await acceptAndGiveBack(driver));
      expect((await driverRow(driver.id))?.status).toBe("online");
    }
    rides.push(await acceptAndGiveBack(driver));
    const cancellations = await cancellationsOf(driver.id);
    expect(cancellations).toEqual(rides.map((ride_id) => ({ ride_id, reason: "changed my mind" })));

    const row = await driverRow(driver.id);
    expect(row?.status).toBe("offline");
    const remaining = Date.parse(String(row?.cooldown_until)) - Date.now();
    expect(remaining).toBeGreaterThan((COOLDOWN_SECONDS - 60) * 1000);
    expect(remaining).toBeLessThanOrEqual(COOLDOWN_SECONDS * 1000);

    const refused = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: PICKUP });
    expectProblem(refused, 409, "driver_cooldown");
    expect(refused.json.retry_after).toBeGreaterThan(COOLDOWN_SECONDS - 60);
    expect(refused.json.retry_after).toBeLessThanOrEqual(COOLDOWN_SECONDS);
    expect(refused.headers.get("retry-after")).toBe(String(refused.json.retry_after));
    expect((await driverRow(driver.id))?.status).toBe("offline");
    // Offline, he can take no ride either.
    const passenger = await registerUser("passenger");
    const ride = await call("POST", "/v1/rides", {
      token: passenger.accessToken,
      headers: { "idempotency-key": unique() },
      body: { pickup: PICKUP, dropoff: DROPOFF, category: "pop", payment_method: "cash" },
    });
    requested.push({ passenger, rideId: ride.json.id });
    expectProblem(await postRide(driver.accessToken, ride.json.id, "accept"), 409, "driver_offline");

    // Once the cool-down has passed he may go online again.
    await env.DB.prepare("UPDATE drivers SET cooldown_until = ? WHERE user_id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), driver.id)
      .run();
    const online = await call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: PICKUP });
    expect(online.status, online.text).toBe(200);
  });

  it("counts only the cancellations within the window", async () => {
    const driver = await onlineDriver("pop", PICKUP);
    for (let i = 1; i < LIMIT; i++) await acceptAndGiveBack(driver);
    // Those were long ago.
    await env.DB.prepare("UPDATE driver_cancellations SET at = ? WHERE driver_id = ?")
      .bind(new Date(Date.now() - 2 * 3600 * 1000).toISOString(), driver.id)
      .run();
    await acceptAndGiveBack(driver);
    expect(await driverRow(driver.id)).toMatchObject({ status: "online", cooldown_until: null });
    expect(await cancellationsOf(driver.id)).toHaveLength(LIMIT);
  });

  it("a passenger's cancellation is not counted against the driver", async () => {
    const driver = await onlineDriver("pop", PICKUP);
    for (let i = 0; i < LIMIT; i++) {
      const passenger = await registerUser("passenger");
      const reply = await call("POST", "/v1/rides", {
        token: passenger.accessToken,
        headers: { "idempotency-key": unique() },
        body: { pickup: PICKUP, dropoff: DROPOFF, category: "pop", payment_method: "cash" },
      });
      expect((await postRide(driver.accessToken, reply.json.id, "accept")).status).toBe(200);
      expect((await postRide(passenger.accessToken, reply.json.id, "cancel", { reason: "nah" })).status).toBe(
        200,
      );
    }
    expect(await cancellationsOf(driver.id)).toEqual([]);
    expect((await driverRow(driver.id))?.status).toBe("online");
  });
});
