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
