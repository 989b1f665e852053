/** Business dates in São Paulo: settlement days are counted there, whatever the server's zone. */
export const BUSINESS_TIMEZONE = "America/Sao_Paulo";

const dateFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: BUSINESS_TIMEZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** The calendar date (YYYY-MM-DD) in São Paulo at the instant `at`. */
export function businessDateOf(at: Date): string {
  return dateFormat.format(at);
}

const clockFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: BUSINESS_TIMEZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** How far São Paulo's wall clock is from UTC at `at`, in ms (negative west of Greenwich). */
function zoneOffsetMs(at: number): number {
  const parts = Object.fromEntries(clockFormat.formatToParts(at).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour,
    parts.minute,
    parts.second,
  );
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * The instant at which the São Paulo business date `date` (YYYY-MM-DD) begins: its midnight
 * (03:00 UTC since Brazil dropped daylight saving in 2019; computed from the zone, not assumed).
 */
export function startOfBusinessDate(date: string): Date {
  const utcMidnight = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(utcMidnight)) throw new Error(`not a date: ${date}`);
  let at = utcMidnight - zoneOffsetMs(utcMidnight);
  const corrected = utcMidnight - zoneOffsetMs(at);
  if (corrected !== at) at = corrected;
  return new Date(at);
}

export function isBusinessDay(date: string, holidays: ReadonlySet<string> | readonly string[]): boolean {
  const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
  const off = holidays instanceof Set ? holidays.has(date) : (holidays as readonly string[]).includes(date);
  return weekday !== 0 && weekday !== 6 && !off;
}

/**
 * D+N: the date `n` business days after `date` (weekends and holidays skipped). With n = 0,
 * the date itself if it is a business day, else the next one.
 */
export function addBusinessDays(date: string, n: number, holidays: readonly string[]): string {
  const off = new Set(holidays);
  let day = new Date(`${date}T12:00:00Z`);
  const step = () => {
    day = new Date(day.getTime() + 86_400_000);
  };
  const iso = () => day.toISOString().slice(0, 10);
  if (n === 0) {
    while (!isBusinessDay(iso(), off)) step();
    return iso();
  }
  let left = n;
  while (left > 0) {
    step();
    if (isBusinessDay(iso(), off)) left -= 1;
  }
  return iso();
}
