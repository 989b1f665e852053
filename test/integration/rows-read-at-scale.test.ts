import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { writeSnapshot } from "../../src/services/drivers/index-snapshot";
import { expireStaleCharges } from "../../src/services/payments/expiry";
import { runReconcile } from "../../src/services/reconcile/run";
import { north, type Point, RequestedRides } from "../dispatch-helpers";
import { call, registerUser } from "../helpers";
import { insertCompletedRides } from "../money-helpers";
import { onlineDriver, postRide, rideRow, rideWithDriver } from "../ride-helpers";

// D1 bills every row a statement reads, and its one database runs one statement at a time: a ride
// request whose offers read every online driver in the country slows every other request down as
// the fleet grows. These tests put a fleet and its history in another city and bound what each
// statement of the hot paths reads: the rows it concerns, never the fleet or the history.

const PICKUP: Point = { lat: -23.62, lng: -46.68 };
/** Online in D1 in another city (Rio), so no search around the pickup reaches them. */
const ELSEWHERE = 400;

const rides = new RequestedRides();
afterEach(() => rides.cleanUp());

/** `count` approved `pop` drivers online in Rio, in D1 only (again online if a test set them off). */
async function onlineElsewhere(count: number): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO users (id, role, name, email, phone, password_hash, created_at, updated_at)
       SELECT 'usr_rio_' || i, 'driver', 'Motorista ' || i, 'rio' || i || '@example.com',
              '+5521900000000', 'unused', ?2, ?2 FROM n WHERE true -- SQLite needs a WHERE before ON CONFLICT here
       ON CONFLICT (id) DO NOTHING`,
    ).bind(count, now),
    env.DB.prepare(
      `INSERT INTO drivers (user_id, status, vehicle_category, last_lat, last_lng, last_seen_at,
                            online_since, updated_at, onboarding_status)
       SELECT id, 'online', 'pop', -22.9, -43.2, ?1, ?1, ?1, 'approved' FROM users
       WHERE id LIKE 'usr_rio_%' ON CONFLICT (user_id) DO UPDATE SET status = 'online'`,
    ).bind(now),
  ]);
}

let historyWritten = false;

/** The fleet online elsewhere, and (once per file) a completed ride for each, with its offer. */
async function fleetWithHistoryElsewhere(): Promise<void> {
  await onlineElsewhere(ELSEWHERE);
  if (historyWritten) return;
  historyWritten = true;
  const historian = await registerUser("passenger");
  await insertCompletedRides(
    createServiceContext(env),
    Array.from({ length: ELSEWHERE }, (_, i) => ({
      driverId: `usr_rio_${i + 1}`,
      passengerId: historian.id,
      fareCents: 2000,
      method: "cash" as const,
      completedAt: new Date(Date.now() - (i + 1) * 60_000),
    })),
  );
  await env.DB.prepare(
    `INSERT INTO ride_offers (ride_id, driver_id, batch, radius_m, distance_m, status, offered_at, expires_at, responded_at)
     SELECT id, driver_id, 1, 2000, 300, 'accepted', accepted_at, accepted_at, accepted_at FROM rides
     WHERE passenger_id = ?`,
  )
    .bind(historian.id)
    .run();
}

/** The heaviest statements first. */
const heaviestOf = (reads: Read[]) => [...reads].sort((a, b) => b.rowsRead - a.rowsRead).slice(0, 5);

interface Read {
  sql: string;
  rowsRead: number;
}

const sqlOf = (statement: unknown) =>
  ((statement as { statement?: string }).statement ?? "?").replace(/\s+/g, " ").slice(0, 120);

/**
 * Every statement sent through the D1 binding while `work` runs, with the rows it read. Batches,
 * `run` and `all` carry D1's count in their meta; `first` and `raw` do not. A read sent that way
 * is measured by running it once more with `all`; a write, which must run once, is sent through
 * `all` instead and answered in the shape asked for (drizzle calls `raw()` without options). The
 * Worker, its objects and the test share the binding.
 */
async function rowsReadDuring(work: () => Promise<void>): Promise<Read[]> {
  const db = env.DB as unknown as { batch: D1Database["batch"] };
  type Method = (this: D1PreparedStatement, ...args: unknown[]) => Promise<unknown>;
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<
    "run" | "all" | "first" | "raw",
    Method
  >;
  const { batch } = db;
  const { run, all, first, raw } = statement;
  const reads: Read[] = [];
  const measured = async (target: D1PreparedStatement) => {
    const result = (await all.call(target)) as D1Result<Record<string, unknown>>;
    reads.push({ sql: sqlOf(target), rowsRead: result.meta.rows_read });
    return result;
  };
  db.batch = async function (this: unknown, statements: D1PreparedStatement[]) {
    const results = await batch.call(this, statements);
    results.forEach((result, i) => {
      reads.push({ sql: sqlOf(statements[i]), rowsRead: result.meta.rows_read });
    });
    return results;
  } as D1Database["batch"];
  statement.run = statement.all = function (this: D1PreparedStatement) {
    return measured(this);
  };
  const isRead = (target: D1PreparedStatement) => /^\s*select/i.test(sqlOf(target));
  statement.first = async function (this: D1PreparedStatement, ...args: unknown[]) {
    if (isRead(this)) {
      const answer = await first.apply(this, args);
      await measured(this);
      return answer;
    }
    const row = (await measured(this)).results[0] ?? null;
    const column = args[0] as string | undefined;
    return column === undefined || row === null ? row : row[column];
  };
  statement.raw = async function (this: D1PreparedStatement, ...args: unknown[]) {
    if (isRead(this) || args.length > 0) {
      const answer = await raw.apply(this, args);
      if (isRead(this)) await measured(this);
      return answer;
    }
    return (await measured(this)).results.map((row) => Object.values(row));
  };
  try {
    await work();
  } finally {
    db.batch = batch;
    Object.assign(statement, { run, all, first, raw });
  }
  return reads;
}

describe("a ride's offers in D1", { timeout: 30_000 }, () => {
  it("read the drivers the search reached, not every online driver", async () => {
    await onlineElsewhere(ELSEWHERE);
    const near = await onlineDriver("pop", north(PICKUP, 100));
    const far = await onlineDriver("pop", north(PICKUP, 200));

    let rideId = "";
    const reads = await rowsReadDuring(async () => {
      rideId = (await rides.request(PICKUP)).rideId;
    });

    const offered = await env.DB.prepare(
      "SELECT driver_id FROM ride_offers WHERE ride_id = ? AND status = 'open' ORDER BY distance_m",
    )
      .bind(rideId)
      .all<{ driver_id: string }>();
    expect(offered.results.map((r) => r.driver_id)).toEqual([near.id, far.id]);
    const offerStatements = reads.filter((r) => r.sql.includes("ride_offers"));
    expect(offerStatements.length).toBeGreaterThan(0);
    // Two drivers reached: a few rows each (the driver, his account, his rides and offers), far
    // below the 400 online elsewhere.
    const heaviest = reads.reduce((a, b) => (b.rowsRead > a.rowsRead ? b : a));
    expect(heaviest.rowsRead, JSON.stringify(reads, null, 1)).toBeLessThan(ELSEWHERE / 4);
  });

  it("and an index's snapshot of positions reads the drivers it writes", async () => {
    await onlineElsewhere(ELSEWHERE);
    const [a, b] = [await onlineDriver("pop", PICKUP), await onlineDriver("pop", PICKUP)];
    const at = Date.now() + 1000;
    const moved = north(PICKUP, 500);
    const reads = await rowsReadDuring(() =>
      writeSnapshot(createServiceContext(env), [
        { driverId: a.id, ...moved, at },
        { driverId: b.id, ...moved, at },
      ]),
    );

    const stored = await env.DB.prepare("SELECT last_lat FROM drivers WHERE user_id IN (?, ?)")
      .bind(a.id, b.id)
      .all<{ last_lat: number }>();
    expect(stored.results.map((r) => r.last_lat)).toEqual([moved.lat, moved.lat]);
    expect(reads).toHaveLength(1);
    expect(reads[0]?.rowsRead, JSON.stringify(reads)).toBeLessThan(ELSEWHERE / 4);
  });

  it("and so does every statement of a ride from request to completion, with a fleet and its history elsewhere", async () => {
    await fleetWithHistoryElsewhere();
    let rideId = "";
    const reads = await rowsReadDuring(async () => {
      const { ride } = await rideWithDriver(["arrive", "start", "complete"]);
      rideId = ride.id;
    });

    expect((await rideRow(rideId))?.status).toBe("completed");
    expect(reads.length).toBeGreaterThan(10);
    const heaviest = heaviestOf(reads);
    expect(heaviest[0]?.rowsRead, JSON.stringify(heaviest, null, 1)).toBeLessThan(ELSEWHERE / 4);
  });

  it("and so do a decline, a driver's cancellation, the offers, nearby rides, wallet, inbox and going offline", async () => {
    await fleetWithHistoryElsewhere();
    const pickup = north(PICKUP, 20_000);
    const near = await onlineDriver("pop", north(pickup, 100));
    const far = await onlineDriver("pop", north(pickup, 200));
    const passenger = await registerUser("passenger");
    const trip = { pickup, dropoff: north(pickup, 3000), category: "pop" };

    let rideId = "";
    const reads = await rowsReadDuring(async () => {
      const quote = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body: trip });
      expect(quote.status, quote.text).toBe(200);
      rideId = (await rides.request(pickup, passenger)).rideId;
      const declined = await postRide(near.accessToken, rideId, "decline");
      expect(declined.status, declined.text).toBe(200);
      const offers = await call("GET", "/v1/drivers/me/offers", { token: far.accessToken });
      expect(offers.status, offers.text).toBe(200);
      const accepted = await postRide(far.accessToken, rideId, "accept");
      expect(accepted.status, accepted.text).toBe(200);
      const dropped = await postRide(far.accessToken, rideId, "cancel", { reason: "flat tyre" });
      expect(dropped.status, dropped.text).toBe(200);
      for (const path of ["/v1/rides/available", "/v1/wallet", "/v1/notifications"]) {
        const reply = await call("GET", path, { token: near.accessToken });
        expect(reply.status, `${path}: ${reply.text}`).toBe(200);
      }
      // Going offline closes his online stretch in the status log, which the fleet fills too.
      const offline = await call("POST", "/v1/drivers/me/offline", { token: near.accessToken });
      expect(offline.status, offline.text).toBe(200);
    });

    // The driver's cancellation put the ride back to requested; nobody else is near.
    expect((await rideRow(rideId))?.status).toBe("requested");
    const heaviest = heaviestOf(reads);
    expect(heaviest[0]?.rowsRead, JSON.stringify(heaviest, null, 1)).toBeLessThan(ELSEWHERE / 4);
  });
});

describe("the crons every five and ten minutes", { timeout: 30_000 }, () => {
  it("read what is still undecided, not the payments already settled", async () => {
    await fleetWithHistoryElsewhere();
    const now = new Date();
    await env.DB.prepare(
      `INSERT INTO payments (id, purpose, ride_id, payer_id, method, status, amount_cents, txid,
                             end_to_end_id, expires_at, created_at, updated_at, paid_at)
       SELECT 'pay_hist_' || id, 'ride', id, passenger_id, 'pix', 'paid', final_fare_cents,
              'txhist' || substr(id, 6), 'E' || substr(id, 6), completed_at, completed_at,
              completed_at, completed_at
       FROM rides WHERE status = 'completed' AND driver_id LIKE 'usr_rio_%'
       ON CONFLICT DO NOTHING`,
    ).run();

    const ctx = createServiceContext(env);
    const reads = await rowsReadDuring(async () => {
      const report = await runReconcile(ctx, { now });
      expect(report.failed).toEqual([]);
      await expireStaleCharges(ctx, { now });
    });

    expect(reads.length).toBeGreaterThan(0);
    const heaviest = heaviestOf(reads);
    expect(heaviest[0]?.rowsRead, JSON.stringify(heaviest, null, 1)).toBeLessThan(ELSEWHERE / 4);
  });
});
