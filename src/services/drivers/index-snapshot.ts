import { and, eq, isNotNull, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { cellOf, type LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";
import type { IndexedDriver } from "./index-port";

/**
 * What D1 knows of a driver that a driver index needs to hold him: the idle time is the later of
 * going online and his last completed ride, and his active ride makes him busy.
 */
const FACTS = sql`
  d.user_id AS driver_id, d.status AS status, d.vehicle_category AS category,
  d.last_lat AS lat, d.last_lng AS lng, d.last_seen_at AS seen_at,
  MAX(COALESCE(d.online_since, d.updated_at),
      COALESCE((SELECT MAX(c.completed_at) FROM rides c
                WHERE c.driver_id = d.user_id AND c.status = 'completed'), '')) AS idle_since,
  (SELECT a.id FROM rides a WHERE a.driver_id = d.user_id
     AND a.status IN ('accepted', 'arrived', 'in_progress') LIMIT 1) AS ride_id`;

interface FactsRow {
  driver_id: string;
  status: string;
  category: string | null;
  lat: number | null;
  lng: number | null;
  seen_at: string | null;
  idle_since: string;
  ride_id: string | null;
}

/** How far back a position in D1 still counts when an index rebuilds itself from the snapshot. */
export const REBUILD_WINDOW_MS = 10 * 60_000;

/**
 * The online drivers D1 last saw in an area within REBUILD_WINDOW_MS: what a restarted index starts
 * from before the next pings arrive. One statement on `drivers_online_cell_idx` (a cell range).
 */
export async function onlineDriversInArea(ctx: ServiceContext, area: string): Promise<IndexedDriver[]> {
  const since = new Date(ctx.now().getTime() - REBUILD_WINDOW_MS).toISOString();
  const rows = await ctx.db.all<FactsRow>(sql`
    SELECT ${FACTS} FROM drivers d
    WHERE d.status = 'online' AND d.last_cell >= ${area} AND d.last_cell < ${`${area}~`}
      AND d.vehicle_category IS NOT NULL AND d.last_lat IS NOT NULL AND d.last_lng IS NOT NULL
      AND d.last_seen_at >= ${since}`);
  return rows.map((row) =>
    toIndexed(row, { lat: row.lat ?? 0, lng: row.lng ?? 0 }, Date.parse(row.seen_at ?? "")),
  );
}

/**
 * A ping reached an index that does not hold the driver. One D1 batch reads his facts and, if he is
 * online, stores this position at once (guarded by the status, so it cannot race a go-offline into
 * an online row): D1's position then names the area that holds him, which is how going offline
 * finds the index. Answers null for a driver who is not online, else the driver and the area D1
 * placed him in before (to be told to forget him).
 */
export async function adoptDriver(
  ctx: ServiceContext,
  driverId: string,
  point: LatLng,
  at: number,
): Promise<{ driver: IndexedDriver; previous: LatLng | null } | null> {
  const iso = new Date(at).toISOString();
  const [facts, written] = await ctx.db.batch([
    ctx.db
      .select({
        driver_id: drivers.userId,
        status: drivers.status,
        category: drivers.vehicleCategory,
        lat: drivers.lastLat,
        lng: drivers.lastLng,
        seen_at: drivers.lastSeenAt,
        idle_since: sql<string>`MAX(COALESCE(${drivers.onlineSince}, ${drivers.updatedAt}),
          COALESCE((SELECT MAX(c.completed_at) FROM rides c
                    WHERE c.driver_id = ${drivers.userId} AND c.status = 'completed'), ''))`,
        ride_id: sql<string | null>`(SELECT a.id FROM rides a WHERE a.driver_id = ${drivers.userId}
          AND a.status IN ('accepted', 'arrived', 'in_progress') LIMIT 1)`,
      })
      .from(drivers)
      .where(eq(drivers.userId, driverId)),
    ctx.db
      .update(drivers)
      .set({
        lastLat: point.lat,
        lastLng: point.lng,
        lastCell: cellOf(point),
        lastSeenAt: iso,
        updatedAt: iso,
      })
      .where(
        and(eq(drivers.userId, driverId), eq(drivers.status, "online"), isNotNull(drivers.vehicleCategory)),
      )
      .returning({ userId: drivers.userId }),
  ]);
  const row = facts[0];
  if (row?.status !== "online" || !row.category || written.length === 0) return null;
  const previous = row.lat !== null && row.lng !== null ? { lat: row.lat, lng: row.lng } : null;
  return { driver: toIndexed(row, point, at), previous };
}

/** The area D1 last placed a driver in (his last stored position), or null. */
export async function storedPosition(ctx: ServiceContext, driverId: string): Promise<LatLng | null> {
  const row = await ctx.db.get<{ lat: number | null; lng: number | null }>(
    sql`SELECT last_lat AS lat, last_lng AS lng FROM drivers WHERE user_id = ${driverId}`,
  );
  return row && row.lat !== null && row.lng !== null ? { lat: row.lat, lng: row.lng } : null;
}

export interface SnapshotRow {
  driverId: string;
  lat: number;
  lng: number;
  at: number;
}

/** Rows per statement of a snapshot: the JSON array stays well under D1's size limits. */
const SNAPSHOT_CHUNK = 500;

/**
 * Writes the positions an index collected since its last snapshot (one statement per
 * SNAPSHOT_CHUNK drivers). Each row is
 * guarded: only an online driver, and only a position newer than the stored one (two indexes may
 * both hold a driver who crossed between areas; the newer position wins). The unary `+` keeps
 * SQLite off the status index, so the list drives the join (one key lookup per row) instead of
 * every online driver in the country reading the whole list.
 */
export async function writeSnapshot(ctx: ServiceContext, rows: SnapshotRow[]): Promise<void> {
  if (rows.length === 0) return;
  const statements: Promise<unknown>[] = [];
  for (let i = 0; i < rows.length; i += SNAPSHOT_CHUNK) {
    const chunk = rows.slice(i, i + SNAPSHOT_CHUNK).map((row) => ({
      id: row.driverId,
      lat: row.lat,
      lng: row.lng,
      cell: cellOf(row),
      at: new Date(row.at).toISOString(),
    }));
    statements.push(
      ctx.db.run(sql`
        UPDATE drivers SET last_lat = j.value ->> 'lat', last_lng = j.value ->> 'lng',
          last_cell = j.value ->> 'cell', last_seen_at = j.value ->> 'at', updated_at = j.value ->> 'at'
        FROM json_each(${JSON.stringify(chunk)}) AS j
        WHERE drivers.user_id = j.value ->> 'id' AND +drivers.status = 'online'
          AND (drivers.last_seen_at IS NULL OR drivers.last_seen_at < j.value ->> 'at')`),
    );
  }
  // One statement for up to SNAPSHOT_CHUNK drivers; more than that waits chunk after chunk, which
  // only the alarm does.
  for (const statement of statements) await statement;
}

function toIndexed(row: FactsRow, point: LatLng, at: number): IndexedDriver {
  return {
    driverId: row.driver_id,
    category: row.category ?? "",
    lat: point.lat,
    lng: point.lng,
    seenAt: at,
    rideId: row.ride_id,
    idleSince: row.idle_since,
  };
}
