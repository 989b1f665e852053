import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "./client";

type Statement = BatchItem<"sqlite">;

/** Each named statement's result, as awaiting it alone would give (an absent one stays absent). */
export type NamedResults<T extends Record<string, Statement | undefined>> = {
  [K in keyof T]: Awaited<T[K]>;
};

/**
 * Runs named statements as one D1 batch: one round trip, in order, in one transaction. Reads
 * that do not depend on each other's results go out together this way; a statement left
 * `undefined` (a read only some requests need) is skipped and its result is `undefined`.
 */
export async function batchNamed<T extends Record<string, Statement | undefined>>(
  db: Database,
  statements: T,
): Promise<NamedResults<T>> {
  const names = Object.keys(statements).filter((name) => statements[name] !== undefined);
  const items = names.map((name) => statements[name] as Statement);
  const results: unknown[] = items.length > 0 ? await db.batch(items as [Statement, ...Statement[]]) : [];
  const named: Record<string, unknown> = {};
  names.forEach((name, i) => {
    named[name] = results[i];
  });
  return named as NamedResults<T>;
}
