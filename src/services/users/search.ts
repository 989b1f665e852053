import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { type UserRole, type UserStatus, users } from "../../db/schema";
import { type PageQuery, pageOf } from "../../lib/pagination";
import { type PublicUser, toPublicUser } from "../auth/accounts";
import type { ServiceContext } from "../context";

export interface UserSearch {
  /** An exact id, or the start of an email, a name or a phone number. */
  q?: string;
  role?: UserRole;
  status?: UserStatus;
}

/**
 * Users for staff, newest first: `q` matches an id exactly or the start of an email, a name or a
 * phone (ASCII case ignored). A prefix, not a substring, so the indexes on email and phone can serve it and a
 * one-letter query cannot page through every name in the table.
 */
export async function searchUsers(
  ctx: ServiceContext,
  query: PageQuery & UserSearch,
): Promise<{ items: PublicUser[]; next_cursor: string | null }> {
  const where: SQL[] = [];
  if (query.cursor) where.push(lt(users.id, query.cursor));
  if (query.role) where.push(eq(users.role, query.role));
  if (query.status) where.push(eq(users.status, query.status));
  const q = query.q?.trim();
  if (q) {
    const prefix = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // SQLite's LIKE folds ASCII case; the backslash escapes a literal % or _ in the query.
    const startsWith = (column: AnySQLiteColumn) => sql`${column} LIKE ${prefix} ESCAPE '\\'`;
    const matches = or(
      eq(users.id, q),
      startsWith(users.email),
      startsWith(users.name),
      startsWith(users.phone),
    );
    if (matches) where.push(matches);
  }
  const rows = await ctx.db
    .select()
    .from(users)
    .where(and(...where))
    .orderBy(desc(users.id))
    .limit(query.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, query.limit);
  return { items: items.map(toPublicUser), next_cursor };
}
