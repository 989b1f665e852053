import { sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { everyDate, type ReportRange, rowOf } from "./range";

export interface DriverReportRow {
  date: string;
  active_drivers: number;
  trips: number;
  trip_hours: number;
  gave_back: number;
  cancelled_by_driver: number;
  online_hours: null;
}

interface Bucket {
  hour: string;
  metric: "trip" | "gave_back" | "cancelled";
  driver_id: string;
  n: number;
  seconds: number | null;
}

/**
 * Drivers' work in the city per local day: how many drivers completed a trip, the trips, the
 * hours from start to completion of those trips, rides given back after accepting, and rides the
 * driver cancelled. `online_hours` is null: only the start of a driver's current online session
 * is stored (`drivers.online_since`), not a history of going online and offline, so hours online
 * cannot be derived; it needs a log of those changes.
 */
export async function driversReport(ctx: ServiceContext, range: ReportRange): Promise<DriverReportRow[]> {
  const { cityId, startUtc: start, endUtc: end } = range;
  const buckets = await ctx.db.all<Bucket>(sql`
    SELECT substr(completed_at, 1, 13) AS hour, 'trip' AS metric, driver_id, COUNT(*) AS n,
      SUM((julianday(completed_at) - julianday(started_at)) * 86400) AS seconds
    FROM rides WHERE city_id = ${cityId} AND status = 'completed' AND completed_at >= ${start} AND completed_at < ${end}
    GROUP BY hour, driver_id
    UNION ALL
    SELECT substr(c.at, 1, 13) AS hour, 'gave_back', c.driver_id, COUNT(*), NULL
    FROM driver_cancellations c JOIN rides r ON r.id = c.ride_id
    WHERE r.city_id = ${cityId} AND c.at >= ${start} AND c.at < ${end} GROUP BY hour, c.driver_id
    UNION ALL
    SELECT substr(cancelled_at, 1, 13) AS hour, 'cancelled', driver_id, COUNT(*), NULL
    FROM rides WHERE city_id = ${cityId} AND status = 'cancelled' AND cancelled_by = 'driver'
      AND cancelled_at >= ${start} AND cancelled_at < ${end}
    GROUP BY hour, driver_id`);
  const rows = everyDate(range, (date) => ({
    date,
    drivers: new Set<string>(),
    trips: 0,
    seconds: 0,
    gave_back: 0,
    cancelled_by_driver: 0,
  }));
  for (const b of buckets) {
    const row = rowOf(range, rows, b.hour);
    if (!row) continue;
    if (b.metric === "trip") {
      row.drivers.add(b.driver_id);
      row.trips += b.n;
      row.seconds += b.seconds ?? 0;
    } else if (b.metric === "gave_back") row.gave_back += b.n;
    else row.cancelled_by_driver += b.n;
  }
  return [...rows.values()].map(({ drivers, seconds, ...row }) => ({
    date: row.date,
    active_drivers: drivers.size,
    trips: row.trips,
    trip_hours: Math.round((seconds / 3600) * 100) / 100,
    gave_back: row.gave_back,
    cancelled_by_driver: row.cancelled_by_driver,
    online_hours: null,
  }));
}
