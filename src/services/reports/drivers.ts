import { sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { dayBoundsMs, everyDate, type ReportRange, rowOf } from "./range";

export interface DriverReportRow {
  date: string;
  active_drivers: number;
  trips: number;
  trip_hours: number;
  gave_back: number;
  cancelled_by_driver: number;
  online_hours: number;
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
 * hours from start to completion of those trips, rides given back after accepting, rides the
 * driver cancelled, and the hours drivers were online (`onlineSecondsPerDay`).
 */
export async function driversReport(ctx: ServiceContext, range: ReportRange): Promise<DriverReportRow[]> {
  const [buckets, online] = await Promise.all([tripBuckets(ctx, range), onlineSecondsPerDay(ctx, range)]);
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
  return [...rows.values()].map(({ drivers, seconds, ...row }, i) => ({
    date: row.date,
    active_drivers: drivers.size,
    trips: row.trips,
    trip_hours: hours(seconds),
    gave_back: row.gave_back,
    cancelled_by_driver: row.cancelled_by_driver,
    online_hours: hours(online[i] ?? 0),
  }));
}

const hours = (seconds: number) => Math.round((seconds / 3600) * 100) / 100;

function tripBuckets(ctx: ServiceContext, range: ReportRange): Promise<Bucket[]> {
  const { cityId, startUtc: start, endUtc: end } = range;
  return ctx.db.all<Bucket>(sql`
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
}

/**
 * Seconds online per date of the range, from `driver_status_log` (written by triggers on every
 * status change, so no code path can skip it). A session belongs to the city whose box held the
 * position the driver went online at: drivers are not registered per city, and going online is
 * the one moment the platform knows where a driver chose to work. Closed sessions are their
 * `offline` row (it repeats the session's start and city); open ones are the last row of a driver
 * D1 has online, and count up to the end of the range or now, whichever is earlier. Each session
 * is split at the city's local midnights. Two statements run together: the closed sessions (the
 * index on city, status and time) and the open ones (the drivers online now).
 */
async function onlineSecondsPerDay(ctx: ServiceContext, range: ReportRange): Promise<number[]> {
  const { cityId, startUtc: start, endUtc: end } = range;
  const [closed, open] = await Promise.all([
    ctx.db.all<Session>(sql`
      SELECT online_at AS started, at AS ended FROM driver_status_log
      WHERE city_id = ${cityId} AND status = 'offline' AND at > ${start} AND online_at < ${end}`),
    ctx.db.all<Session>(sql`
      SELECT l.at AS started, NULL AS ended FROM drivers d
      JOIN driver_status_log l ON l.id = (SELECT MAX(id) FROM driver_status_log WHERE driver_id = d.user_id)
      WHERE d.status = 'online' AND l.status = 'online' AND l.city_id = ${cityId} AND l.at < ${end}`),
  ]);
  return splitByDay(dayBoundsMs(range), [...closed, ...open], ctx.now().getTime());
}

interface Session {
  started: string;
  ended: string | null;
}

/**
 * Seconds of the sessions on each day, given the days' starts and the range's end (`bounds`, one
 * more than the days). An open session runs to `now`; nothing counts past the range or `now`.
 */
export function splitByDay(bounds: number[], sessions: Session[], now: number): number[] {
  const seconds = new Array<number>(Math.max(0, bounds.length - 1)).fill(0);
  const first = bounds[0] ?? 0;
  const cap = Math.min(bounds.at(-1) ?? 0, now);
  for (const session of sessions) {
    let from = Math.max(Date.parse(session.started), first);
    const to = Math.min(session.ended === null ? cap : Date.parse(session.ended), cap);
    for (let day = 0; day < seconds.length && from < to; day++) {
      const dayEnd = bounds[day + 1] ?? cap;
      if (from >= dayEnd) continue;
      const until = Math.min(to, dayEnd);
      seconds[day] = (seconds[day] ?? 0) + (until - from) / 1000;
      from = until;
    }
  }
  return seconds;
}
