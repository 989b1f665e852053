import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof build>;

function build(d1: D1Database) {
  return drizzle(d1, { schema });
}

/**
 * Building a drizzle instance walks the whole schema for its relations, a measurable share of a
 * short request (see docs/benchmarks.md): one per D1 binding object is kept for the isolate. The
 * instance holds no per-request state, so every request and Durable Object may share it.
 */
const built = new WeakMap<D1Database, Database>();

export function createDb(d1: D1Database): Database {
  let db = built.get(d1);
  if (!db) {
    db = build(d1);
    built.set(d1, db);
  }
  return db;
}
