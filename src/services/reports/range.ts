import { asc, eq } from "drizzle-orm";
import { cities } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/** The longest range a report covers: a leap year. */
export const MAX_REPORT_DAYS = 366;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/**
 * A report's range: the local dates `from`..`to` (inclusive) in the city's time zone, and the UTC
 * instants that bound them (`startUtc` inclusive, `endUtc` exclusive).
 */
export interface ReportRange {
  cityId: string;
  timezone: string;
  from: string;
  to: string;
  dates: string[];
  startUtc: string;
  endUtc: string;
  /** The local date of a UTC hour bucket (`2026-11-29T03`). */
  dateOfHour: (hour: string) => string;
}

export interface ReportQuery {
  city_id?: string;
  from: string;
  to: string;
}

/**
 * Checks the dates and the city and works out the bounds. Every refusal is `validation_failed`
 * naming the field. Without `city_id` the one active city is meant; with several it must be named.
 */
export async function resolveRange(ctx: ServiceContext, query: ReportQuery): Promise<ReportRange> {
  const from = parseDate(query.from, "from");
  const to = parseDate(query.to, "to");
  const days = Math.round((to - from) / DAY_MS) + 1;
  if (days < 1) invalid("to", "must not be before from");
  if (days > MAX_REPORT_DAYS) invalid("to", `the range may cover at most ${MAX_REPORT_DAYS} days`);
  const city = await cityOf(ctx, query.city_id);
  const dates = Array.from({ length: days }, (_, i) =>
    new Date(from + i * DAY_MS).toISOString().slice(0, 10),
  );
  const format = new Intl.DateTimeFormat("en-CA", {
    timeZone: city.timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const cache = new Map<string, string>();
  return {
    cityId: city.id,
    timezone: city.timezone,
    from: query.from,
    to: query.to,
    dates,
    startUtc: localMidnight(from, city.timezone).toISOString(),
    endUtc: localMidnight(to + DAY_MS, city.timezone).toISOString(),
    dateOfHour: (hour) => {
      let date = cache.get(hour);
      if (!date) {
        date = format.format(new Date(`${hour}:00:00.000Z`));
        cache.set(hour, date);
      }
      return date;
    },
  };
}

function parseDate(value: string, field: string): number {
  const match = DATE.exec(value);
  if (!match) invalid(field, "must be a date, YYYY-MM-DD");
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const at = Date.UTC(y, m - 1, d);
  const back = new Date(at);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d || y < 2000) {
    invalid(field, "is not a calendar date from 2000 on");
  }
  return at;
}

async function cityOf(ctx: ServiceContext, cityId: string | undefined) {
  const columns = { id: cities.id, timezone: cities.timezone };
  if (cityId) {
    const city = await ctx.db.select(columns).from(cities).where(eq(cities.id, cityId)).get();
    if (!city) invalid("city_id", "no such city");
    return city;
  }
  const active = await ctx.db
    .select(columns)
    .from(cities)
    .where(eq(cities.active, true))
    .orderBy(asc(cities.id))
    .limit(2)
    .all();
  const [only] = active;
  if (active.length !== 1 || !only) invalid("city_id", "name the city: there is not exactly one active city");
  return only;
}

/**
 * The UTC instants (ms) at which each local date of the range starts, and the range's end: one
 * more than the dates. For figures that are split at local midnight rather than bucketed by hour.
 */
export function dayBoundsMs(range: ReportRange): number[] {
  const days = range.dates.map((date) => localMidnight(Date.parse(`${date}T00:00:00.000Z`), range.timezone));
  return [...days.map((d) => d.getTime()), Date.parse(range.endUtc)];
}

/** The UTC instant of local midnight at the start of a UTC-midnight-dated day in `timezone`. */
function localMidnight(utcDay: number, timezone: string): Date {
  let guess = utcDay - offsetMs(new Date(utcDay), timezone);
  // A second pass corrects a guess that fell on the other side of a daylight-saving change.
  guess = utcDay - offsetMs(new Date(guess), timezone);
  return new Date(guess);
}

/** How far local time in `timezone` is ahead of UTC at an instant. */
function offsetMs(at: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return local - Math.floor(at.getTime() / 1000) * 1000;
}

function invalid(path: string, message: string): never {
  throw new ApiError("validation_failed", `${path}: ${message}`, { errors: [{ path, message }] });
}

/**
 * One row per date of the range, in date order, filled from `make`. Queries group by UTC hour
 * (`substr(at, 1, 13)`) and the hours are mapped to local dates here, which is exact for every
 * time zone whose offset is whole hours (all of Brazil's).
 */
export function everyDate<T>(range: ReportRange, make: (date: string) => T): Map<string, T> {
  return new Map(range.dates.map((date) => [date, make(date)]));
}

/** The row of the local date of a UTC hour bucket; hours outside the range (none) are dropped. */
export function rowOf<T>(range: ReportRange, rows: Map<string, T>, hour: string): T | undefined {
  return rows.get(range.dateOfHour(hour));
}

/** A mean rounded to whole units, or null when there is nothing to average. */
export function mean(total: number, count: number): number | null {
  return count > 0 ? Math.round(total / count) : null;
}
