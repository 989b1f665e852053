import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { runNightly } from "../../src/cron/nightly";
import { RETENTION_DAYS } from "../../src/services/retention/periods";
import { purgeExpired } from "../../src/services/retention/purge";
import { call, registerUser, unique } from "../helpers";
import { rideWithDriver } from "../ride-helpers";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function count(table: string, where: string, ...binds: unknown[]) {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Rows of every purged kind for one user, written as they would be at `at`. */
async function seedRows(userId: string, at: number, tag: string) {
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(`rtk_${tag}`, userId, `fam_${tag}`, `hash_${tag}`, iso(at), iso(at + 30 * DAY)),
    env.DB.prepare(
      "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at, expires_at) VALUES (?, ?, 'h', 'completed', ?, ?)",
    ).bind(userId, `key_${tag}`, iso(at), iso(at + DAY)),
    env.DB.prepare(
      "INSERT INTO quotes (id, passenger_id, city_id, category, pricing_rule_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, distance_m, duration_s, estimated_fare_cents, surge_multiplier_bp, expires_at, created_at) VALUES (?, ?, 'sao_paulo', 'pop', 'r', -23.55, -46.63, -23.56, -46.65, 3000, 600, 1500, 10000, ?, ?)",
    ).bind(`qte_${tag}`, userId, iso(at + 120_000), iso(at)),
    env.DB.prepare("INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 3)").bind(
      `login:${tag}`,
      Math.floor(at / 1000),
    ),
  ]);
}

async function rowsOf(tag: string) {
  return {
    refresh: await count("refresh_tokens", "id = ?", `rtk_${tag}`),
    idempotency: await count("idempotency_keys", "key = ?", `key_${tag}`),
    quote: await count("quotes", "id = ?", `qte_${tag}`),
    rateLimit: await count("rate_limits", "key = ?", `login:${tag}`),
  };
}

describe("retention purges", () => {
  it("delete each kind of row once past its period and keep what is still within it", async () => {
    const user = await registerUser("passenger");
    const now = Date.now();
    const old = unique();
    const recent = unique();
    await seedRows(user.id, now - 60 * DAY, old);
    await seedRows(user.id, now, recent);

    const report = await purgeExpired(
      { ...createServiceContext(env), now: () => new Date(now) },
      new Date(now),
    );
    expect(report.refresh_tokens).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(old)).toEqual({ refresh: 0, idempotency: 0, quote: 0, rateLimit: 0 });
    expect(await rowsOf(recent)).toEqual({ refresh: 1, idempotency: 1, quote: 1, rateLimit: 1 });
    // The user's own live session (from registration) is untouched.
    expect(
      await count(
        "refresh_tokens",
        "user_id = ? AND revoked_at IS NULL AND id <> ?",
        user.id,
        `rtk_${recent}`,
      ),
    ).toBe(1);
  });

  it("the nightly run keeps the tables bounded as the clock moves on", async () => {
    const user = await registerUser("passenger");
    const start = Date.now();
    const tags: string[] = [];
    // Ten nights: each night adds rows, and the nightly job purges what has aged out.
    for (let night = 0; night < 10; night++) {
      const at = start + night * 5 * DAY;
      const tag = unique();
      tags.push(tag);
      await seedRows(user.id, at, tag);
      const ctx = { ...createServiceContext(env), now: () => new Date(at) };
      const report = await runNightly(ctx, new Date(at));
      expect(report.retention).not.toBeNull();
      // Only what is still within its period survives: never more than a handful of nights' rows.
      const mine = await count("quotes", "passenger_id = ?", user.id);
      expect(mine).toBeLessThanOrEqual(1);
      expect(await count("idempotency_keys", "user_id = ?", user.id)).toBeLessThanOrEqual(1);
      expect(
        await count(
          "refresh_tokens",
          "user_id = ? AND id LIKE 'rtk\\_%' ESCAPE '\\' AND family_id LIKE 'fam\\_%' ESCAPE '\\'",
          user.id,
        ),
      ).toBeLessThanOrEqual(9);
    }
    // Thirty-seven days after the first night, its refresh token (30 d + 7 d) is gone too.
    expect((await rowsOf(tags[0] ?? "")).refresh).toBe(0);
  });

  it("forgets the position of a driver not seen for 30 days, not of one seen recently", async () => {
    const stale = await registerUser("driver");
    const fresh = await registerUser("driver");
    const now = Date.now();
    for (const [driver, seen] of [
      [stale, now - 31 * DAY],
      [fresh, now - 29 * DAY],
    ] as const) {
      await env.DB.prepare(
        "INSERT INTO drivers (user_id, status, last_lat, last_lng, last_cell, last_seen_at, updated_at) VALUES (?, 'offline', -23.55, -46.63, '6gycf', ?, ?)",
      )
        .bind(driver.id, iso(seen), iso(seen))
        .run();
    }
    await purgeExpired({ ...createServiceContext(env), now: () => new Date(now) }, new Date(now));
    const row = (id: string) =>
      env.DB.prepare("SELECT last_lat, last_cell, last_seen_at FROM drivers WHERE user_id = ?")
        .bind(id)
        .first();
    expect(await row(stale.id)).toEqual({ last_lat: null, last_cell: null, last_seen_at: null });
    expect(await row(fresh.id)).toMatchObject({ last_lat: -23.55, last_cell: "6gycf" });
  });
});

describe("a ride room's own storage", () => {
  const roomOf = (rideId: string) => env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId));
  const tripRows = (rideId: string) =>
    runInDurableObject(roomOf(rideId), (_room, state) => ({
      trace: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM trace").one().n,
      location: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM location").one().n,
      forgetAt: state.storage.sql
        .exec<{ due_at: number }>("SELECT due_at FROM timers WHERE kind = 'forget_trip'")
        .toArray()[0]?.due_at,
    }));

  it("forgets the trip's trace and last position 90 days after the ride ended, and keeps the ride", async () => {
    const ended = Date.now();
    const { ride, passenger } = await rideWithDriver(["arrive", "start", "complete"]);
    const before = await tripRows(ride.id);
    expect(before.trace).toBeGreaterThan(0);
    expect(before.location).toBe(1);
    expect(before.forgetAt).toBeGreaterThanOrEqual(ended + RETENTION_DAYS.rideTraces * 86_400_000);
    expect(before.forgetAt).toBeLessThan(Date.now() + RETENTION_DAYS.rideTraces * 86_400_000 + 1000);

    // Day 90: the timer comes due.
    await runInDurableObject(roomOf(ride.id), (_room, state) => {
      state.storage.sql.exec("UPDATE timers SET due_at = ? WHERE kind = 'forget_trip'", Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(roomOf(ride.id))).toBe(true);
    expect(await tripRows(ride.id)).toEqual({ trace: 0, location: 0, forgetAt: undefined });
    const kept = await call("GET", `/v1/rides/${ride.id}`, { token: passenger.accessToken });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.json).toMatchObject({ id: ride.id, status: "completed" });
  });
});
