/**
 * Rows as CSV (RFC 4180): a header of the first row's keys, CRLF line ends, fields quoted when they
 * hold a comma, quote or line break. A field a spreadsheet would run as a formula (starting with
 * = + - @ or a tab) is prefixed with a quote mark; only text fields can start so, never numbers.
 */
export function toCsv(
  rows: readonly Record<string, string | number | null>[],
  columns: readonly string[],
): string {
  const lines = [columns.map(field).join(",")];
  for (const row of rows) lines.push(columns.map((column) => field(row[column] ?? null)).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function field(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
