import { and, eq, isNull, sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema";
import { verifyAccessToken } from "../../lib/jwt";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";

/**
 * Verifies an access token, then reads the user's role and status and whether the session is
 * still live, in one statement: a blocked user or a logged-out session is refused at once,
 * not at token expiry.
 */
export async function authenticate(ctx: ServiceContext, token: string): Promise<AuthUser> {
  const claims = await verifyAccessToken(ctx.config.JWT_SIGNING_KEYS, token, ctx.now().getTime());
  return sessionUser(ctx, claims.sub, claims.sid);
}

/** The user of a session that is still live, or the refusal `authenticate` would answer. */
export async function sessionUser(ctx: ServiceContext, userId: string, sessionId: string): Promise<AuthUser> {
  const { db } = ctx;
  const row = await db
    .select({
      role: users.role,
      status: users.status,
      // The embedded subquery is already parenthesised: `exists((select …))` is a SQLite syntax error.
      live: sql<number>`exists ${db
        .select({ one: sql`1` })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, sessionId), isNull(refreshTokens.revokedAt)))}`,
    })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!row) throw new ApiError("invalid_token", "The session has ended; sign in again");
  // Blocking also revokes every session, so the status is checked first: a blocked user is told so.
  if (row.status === "blocked") throw new ApiError("user_blocked");
  if (!row.live) throw new ApiError("invalid_token", "The session has ended; sign in again");
  return { id: userId, role: row.role, sessionId };
}
