import { and, eq, isNull, sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema";
import { verifyAccessToken } from "../../lib/jwt";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { loggedIfFailed } from "./session-state";
import { judgeSession, type SessionVerdict } from "./session-verdict";

/**
 * Verifies an access token, then reads the user's role and status and whether the session is
 * still live from D1, in one statement: a blocked user or a logged-out session is refused at once,
 * not at token expiry.
 */
export async function authenticate(ctx: ServiceContext, token: string): Promise<AuthUser> {
  const claims = await verifyAccessToken(ctx.config.JWT_SIGNING_KEYS, token, ctx.now().getTime());
  return sessionUser(ctx, claims.sub, claims.sid);
}

/**
 * The same decision without D1, for hot routes: the token's signature, then the session state
 * kept in the user's channel (one RPC to an object near the user).
 */
export async function authenticateAtEdge(ctx: ServiceContext, token: string): Promise<AuthUser> {
  const claims = await verifyAccessToken(ctx.config.JWT_SIGNING_KEYS, token, ctx.now().getTime());
  return edgeSessionUser(ctx, claims.sub, claims.sid);
}

export async function edgeSessionUser(
  ctx: ServiceContext,
  userId: string,
  sessionId: string,
): Promise<AuthUser> {
  return accepted(await ctx.userChannel(userId).checkSession(userId, sessionId), userId, sessionId);
}

/** The user of a session that is still live, per D1, or the refusal `authenticate` would answer. */
export async function sessionUser(ctx: ServiceContext, userId: string, sessionId: string): Promise<AuthUser> {
  const { db } = ctx;
  const row = await db
    .select({
      role: users.role,
      status: users.status,
      stamp: users.updatedAt,
      // The embedded subquery is already parenthesised: `exists((select …))` is a SQL syntax error.
      live: sql<number>`exists ${db
        .select({ one: sql`1` })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, sessionId), isNull(refreshTokens.revokedAt)))}`,
    })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (row && (row.status === "blocked" || !row.live)) {
    // D1 refuses a session: if the account changed behind the channel's back (`admin:create`
    // writes D1 only), its copy reloads, so hot routes refuse it too.
    await loggedIfFailed(
      ctx,
      userId,
      "reloading the session state",
      ctx.userChannel(userId).accountSeen(userId, row.stamp),
    );
  }
  return accepted(judgeSession(row ?? null, row?.live === 1), userId, sessionId);
}

function accepted(verdict: SessionVerdict, userId: string, sessionId: string): AuthUser {
  if (verdict.ok) return { id: userId, role: verdict.role, sessionId };
  if (verdict.code === "user_blocked") throw new ApiError("user_blocked");
  throw new ApiError("invalid_token", "The session has ended; sign in again");
}
