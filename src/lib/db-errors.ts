/** True when a D1 error (possibly wrapped by drizzle) is a UNIQUE violation on `table.column`. */
export function isUniqueViolation(error: unknown, target: string): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes("UNIQUE constraint failed") && e.message.includes(target)) return true;
  }
  return false;
}
