import { DurableObject } from "cloudflare:workers";
import { createServiceContext } from "../composition";
import { haversineMeters, type LatLng } from "../lib/geo";
import type { ServiceContext } from "../services/context";
import {
  areaOf,
  type IndexedDriver,
  LOCATION_SNAPSHOT_INTERVAL_MS,
  type NearbyDriver,
  type PingResult,
} from "../services/drivers/index-port";
import { adoptDriver, onlineDriversInArea, writeSnapshot } from "../services/drivers/index-snapshot";
import { byDistanceThenIdle, ensureTables, type Row, toDriver, upgradeTables } from "./driver-index-table";

const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;

/**
 * One per area (`areaOf`): the online drivers of the area in this object's own SQLite, so a
 * location ping, dispatch's search and accept's proximity check never wait for D1. Only online
 * drivers are held; a driver it does not hold is looked up in D1 once (`adoptDriver`). Rows
 * changed by pings are `dirty` until the alarm writes them to D1 as one snapshot.
 *
 * Every method is named by its area, so an index whose storage is gone (or a fresh one) first
 * rebuilds itself from D1's snapshot (`onlineDriversInArea`). Calls that may wait for D1 run one at
 * a time, so a go-offline can never be overtaken by the adoption of the same driver.
 */
export class DriverIndex extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();
  private building: Promise<void> | null = null;
  /** Calls waiting in `serialized`: while any is, pings take the queue too. */
  private pending = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    upgradeTables(this.sql);
  }

  async online(area: string, driver: IndexedDriver): Promise<void> {
    await this.ready(area);
    await this.serialized(async () => {
      const held = this.row(driver.driverId);
      // Going online again keeps the idle time of a ride completed since.
      const idleSince = held && held.idle_since > driver.idleSince ? held.idle_since : driver.idleSince;
      this.put({ ...driver, idleSince }, false);
    });
  }

  async offline(area: string, driverId: string): Promise<void> {
    await this.ready(area);
    await this.serialized(async () => {
      this.sql.exec("DELETE FROM drivers WHERE id = ?", driverId);
    });
  }

  async ping(area: string, driverId: string, location: LatLng, at: number): Promise<PingResult> {
    await this.ready(area);
    // The hot path: a driver held here, no adoption pending. No await, so nothing interleaves.
    if (!this.pending) {
      const moved = this.move(driverId, location, at);
      if (moved) return moved;
    }
    return this.serialized(async () => {
      const moved = this.move(driverId, location, at);
      if (moved) return moved;
      const ctx = this.context();
      const adopted = await adoptDriver(ctx, driverId, location, at);
      if (!adopted) return { ok: false } as const;
      this.put(adopted.driver, false);
      const before = adopted.previous ? areaOf(adopted.previous) : area;
      // He crossed from another area: that index forgets him, so only one index answers for him.
      if (before !== area) this.ctx.waitUntil(forget(ctx, before, driverId));
      return { ok: true, rideId: adopted.driver.rideId } as const;
    });
  }

  async locate(area: string, driverId: string): Promise<IndexedDriver | null> {
    await this.ready(area);
    const row = this.row(driverId);
    return row ? toDriver(row) : null;
  }

  async nearest(
    area: string,
    query: { point: { lat: number; lng: number }; radiusM: number; category: string; limit: number },
  ): Promise<NearbyDriver[]> {
    await this.ready(area);
    const { point, radiusM, category, limit } = query;
    const dLat = radiusM / METRES_PER_DEGREE;
    const dLng = radiusM / (METRES_PER_DEGREE * Math.max(Math.cos((point.lat * Math.PI) / 180), 0.01));
    const rows = this.sql
      .exec<Row>(
        `SELECT * FROM drivers WHERE category = ? AND ride_id IS NULL AND offer_until <= ?
           AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?`,
        category,
        Date.now(),
        point.lat - dLat,
        point.lat + dLat,
        point.lng - dLng,
        point.lng + dLng,
      )
      .toArray();
    return rows
      .map((row) => ({ ...toDriver(row), distanceM: haversineMeters(point, row) }))
      .filter((driver) => driver.distanceM <= radiusM)
      .sort(byDistanceThenIdle)
      .slice(0, limit);
  }

  async rideTaken(area: string, driverId: string, rideId: string): Promise<void> {
    await this.ready(area);
    await this.serialized(async () => {
      this.sql.exec(
        "UPDATE drivers SET ride_id = ?, offer_ride_id = NULL, offer_until = 0 WHERE id = ?",
        rideId,
        driverId,
      );
    });
  }

  /**
   * These drivers now hold an open offer of `rideId` until `until` (epoch ms): `nearest` leaves
   * them out until then. A hint only: D1 still refuses a second open offer to a driver.
   */
  async offersOpened(area: string, rideId: string, driverIds: string[], until: number): Promise<void> {
    await this.ready(area);
    this.sql.exec(
      "UPDATE drivers SET offer_ride_id = ?, offer_until = ? WHERE id IN (SELECT value FROM json_each(?))",
      rideId,
      until,
      JSON.stringify(driverIds),
    );
  }

  /** Their offers of `rideId` closed before the window ended (declined, withdrawn). */
  async offersClosed(area: string, rideId: string, driverIds: string[]): Promise<void> {
    await this.ready(area);
    this.sql.exec(
      `UPDATE drivers SET offer_ride_id = NULL, offer_until = 0
        WHERE offer_ride_id = ? AND id IN (SELECT value FROM json_each(?))`,
      rideId,
      JSON.stringify(driverIds),
    );
  }

  async rideEnded(area: string, driverId: string, rideId: string, idleSince?: string): Promise<void> {
    await this.ready(area);
    await this.serialized(async () => {
      // An offer of this ride he may still be hinted to hold ended with it too.
      this.sql.exec(
        `UPDATE drivers SET ride_id = NULL, offer_until = IIF(offer_ride_id = ?, 0, offer_until)
          WHERE id = ? AND ride_id = ?`,
        rideId,
        driverId,
        rideId,
      );
      if (idleSince) {
        this.sql.exec(
          "UPDATE drivers SET idle_since = ? WHERE id = ? AND idle_since < ?",
          idleSince,
          driverId,
          idleSince,
        );
      }
    });
  }

  async vehicle(area: string, driverId: string, category: string): Promise<void> {
    await this.ready(area);
    await this.serialized(async () => {
      this.sql.exec("UPDATE drivers SET category = ? WHERE id = ?", category, driverId);
    });
  }

  /** Writes the positions changed since the last snapshot to D1; a failure retries next period. */
  override async alarm(): Promise<void> {
    ensureTables(this.sql);
    const rows = this.sql
      .exec<Row>("SELECT id, lat, lng, seen_at FROM drivers WHERE dirty = 1")
      .toArray()
      .map((row) => ({ driverId: row.id, lat: row.lat, lng: row.lng, at: row.seen_at }));
    try {
      await writeSnapshot(this.context(), rows);
    } catch (error) {
      this.context().log.error("driver index snapshot failed", { error: String(error) });
      await this.ctx.storage.setAlarm(Date.now() + LOCATION_SNAPSHOT_INTERVAL_MS);
      return;
    }
    // A ping after the read above set a newer time: that row stays dirty for the next snapshot.
    for (const row of rows) {
      this.sql.exec("UPDATE drivers SET dirty = 0 WHERE id = ? AND seen_at = ?", row.driverId, row.at);
    }
    const left = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM drivers WHERE dirty = 1").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + LOCATION_SNAPSHOT_INTERVAL_MS);
  }

  /** Updates a held driver's position; null if this index does not hold him. */
  private move(driverId: string, location: LatLng, at: number): PingResult | null {
    const updated = this.sql
      .exec<{ ride_id: string | null }>(
        "UPDATE drivers SET lat = ?, lng = ?, seen_at = ?, dirty = 1 WHERE id = ? AND seen_at <= ? RETURNING ride_id",
        location.lat,
        location.lng,
        at,
        driverId,
        at,
      )
      .toArray()[0];
    if (updated) {
      this.snapshotSoon();
      return { ok: true, rideId: updated.ride_id };
    }
    // Held, but this ping is older than the stored position (two pings crossed): nothing to do.
    const held = this.row(driverId);
    return held ? { ok: true, rideId: held.ride_id } : null;
  }

  private put(driver: IndexedDriver, dirty: boolean): void {
    this.sql.exec(
      `INSERT INTO drivers (id, category, lat, lng, seen_at, ride_id, idle_since, dirty)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET category = excluded.category, lat = excluded.lat,
         lng = excluded.lng, seen_at = excluded.seen_at,
         ride_id = excluded.ride_id, idle_since = excluded.idle_since, dirty = excluded.dirty`,
      driver.driverId,
      driver.category,
      driver.lat,
      driver.lng,
      driver.seenAt,
      driver.rideId,
      driver.idleSince,
      dirty ? 1 : 0,
    );
  }

  private row(driverId: string): Row | null {
    return this.sql.exec<Row>("SELECT * FROM drivers WHERE id = ?", driverId).toArray()[0] ?? null;
  }

  private snapshotSoon(): void {
    // getAlarm/setAlarm are synchronous against the object's SQLite storage behind the scenes,
    // but typed as promises: fire and let the output gate order them.
    void this.ctx.storage.getAlarm().then((alarm) => {
      if (alarm === null) return this.ctx.storage.setAlarm(Date.now() + LOCATION_SNAPSHOT_INTERVAL_MS);
    });
  }

  /**
   * Creates the tables if they are missing and, the first time (or after its storage was lost),
   * loads the area's online drivers from D1's snapshot. Pings arriving meanwhile wait for it.
   */
  private async ready(area: string): Promise<void> {
    ensureTables(this.sql);
    const built = this.sql.exec("SELECT value FROM meta WHERE key = 'built_at'").toArray()[0];
    if (built) return;
    this.building ??= this.ctx
      .blockConcurrencyWhile(async () => {
        if (this.sql.exec("SELECT value FROM meta WHERE key = 'built_at'").toArray()[0]) return;
        const drivers = await onlineDriversInArea(this.context(), area);
        for (const driver of drivers) {
          // A ping that arrived meanwhile is newer than the snapshot: keep it.
          if (!this.row(driver.driverId)) this.put(driver, false);
        }
        this.sql.exec("INSERT INTO meta (key, value) VALUES ('built_at', ?)", new Date().toISOString());
      })
      .finally(() => {
        this.building = null;
      });
    await this.building;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.queue.then(work, work).finally(() => {
      this.pending--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private context(): ServiceContext {
    return createServiceContext(this.env);
  }
}

/** The index of another area forgets a driver who now pings here. */
async function forget(ctx: ServiceContext, area: string, driverId: string): Promise<void> {
  try {
    await ctx.driverIndex(area).offline(driverId);
  } catch (error) {
    ctx.log.warn("driver index could not forget a driver who moved", { area, error: String(error) });
  }
}
