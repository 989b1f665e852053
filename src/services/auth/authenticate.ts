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
  const { config, db, now } = ctx;
  const claims = await verifyAccessToken(config.JWT_SIGNING_KEYS, token, now().getTime());
  const row = await db
    .select({
      role: users.role,
      status: users.status,
      // The embedded subquery is already parenthesised: `exists((select …))` is a SQLite syntax error.
      live: sql<number>`exists ${db
        .select({ one: sql`1` })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, claims.sid), isNull(refreshTokens.revokedAt)))}`,
    })
    .from(users)
    .where(eq(users.id, claims.sub))
    .get();
  if (!row) throw new ApiError("invalid_token", "The session has ended; sign in again");
  // Blocking also revokes every session, so the status is checked first: a blocked user is told so.
  if (row.status === "blocked") throw new ApiError("user_blocked");
  if (!row.live) throw new ApiError("invalid_token", "The session has ended; sign in again");
  return { id: claims.sub, role: row.role, sessionId: claims.sid };
}
