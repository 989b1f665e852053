import { and, eq, isNull, sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { SessionState } from "./session-verdict";

/** The cold path: one D1 statement reads the whole state, or null when there is no such user. */
export async function loadSessionState(ctx: ServiceContext, userId: string): Promise<SessionState | null> {
  const { db } = ctx;
  const row = await db
    .select({
      role: users.role,
      status: users.status,
      stamp: users.updatedAt,
      live: sql<string>`(${db
        .select({ ids: sql`json_group_array(distinct ${refreshTokens.familyId})` })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))})`,
    })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!row) return null;
  return { role: row.role, status: row.status, stamp: row.stamp, live: JSON.parse(row.live) as string[] };
}

/** A channel update whose failure is safe to log and pass over (each caller says why). */
export async function loggedIfFailed(
  ctx: ServiceContext,
  userId: string,
  what: string,
  update: Promise<unknown>,
): Promise<void> {
  await update.catch((error) => ctx.log.warn(`${what} failed`, { user_id: userId, error: String(error) }));
}
