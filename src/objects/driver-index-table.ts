// The driver index's own SQLite: its tables, their rows, and the order of a search's answer.
import type { IndexedDriver, NearbyDriver } from "../services/drivers/index-port";

export interface Row extends Record<string, SqlStorageValue> {
  id: string;
  category: string;
  lat: number;
  lng: number;
  seen_at: number;
  ride_id: string | null;
  idle_since: string;
  offer_ride_id: string | null;
  offer_until: number;
}

export function ensureTables(sql: SqlStorage): void {
  sql.exec(
    `CREATE TABLE IF NOT EXISTS drivers (
       id TEXT PRIMARY KEY, category TEXT NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL,
       seen_at INTEGER NOT NULL, ride_id TEXT, idle_since TEXT NOT NULL,
       dirty INTEGER NOT NULL DEFAULT 0, offer_ride_id TEXT, offer_until INTEGER NOT NULL DEFAULT 0)`,
  );
  sql.exec("CREATE INDEX IF NOT EXISTS drivers_category_lat ON drivers (category, lat)");
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
}

/** An index created before the offer hint has its drivers table without the hint's columns. */
export function upgradeTables(sql: SqlStorage): void {
  const columns = sql.exec<{ name: string }>("PRAGMA table_info(drivers)").toArray();
  if (columns.length > 0 && !columns.some((column) => column.name === "offer_until")) {
    sql.exec("ALTER TABLE drivers ADD COLUMN offer_ride_id TEXT");
    sql.exec("ALTER TABLE drivers ADD COLUMN offer_until INTEGER NOT NULL DEFAULT 0");
  }
}

export function toDriver(row: Row): IndexedDriver {
  return {
    driverId: row.id,
    category: row.category,
    lat: row.lat,
    lng: row.lng,
    seenAt: row.seen_at,
    rideId: row.ride_id,
    idleSince: row.idle_since,
  };
}

export function byDistanceThenIdle(a: NearbyDriver, b: NearbyDriver): number {
  return (
    a.distanceM - b.distanceM ||
    a.idleSince.localeCompare(b.idleSince) ||
    a.driverId.localeCompare(b.driverId)
  );
}
