import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { auditLogs, refreshTokens, users } from "../../db/schema";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { hashPassword, verifyPassword } from "../../lib/password";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { enforceRateLimit, resetRateLimit } from "../requests/rate-limit";
import { assertStrongPassword } from "./accounts";
import { closeUserSockets } from "./end-sessions";
import { loggedIfFailed } from "./session-state";

export interface PasswordChangeInput {
  current_password: string;
  new_password: string;
  /** The client's address, for the per-account-and-IP failure limit sign-in uses. */
  ip: string;
}

/**
 * Changes the caller's password. The caller's own session stays signed in; every other session of
 * the account ends (its refresh tokens revoked, its access tokens refused, its sockets closed):
 * someone who knew the old password keeps nothing. Wrong current passwords count as failed sign-ins.
 */
export async function changePassword(ctx: ServiceContext, caller: AuthUser, input: PasswordChangeInput) {
  // The registration rule and answer (`400 weak_password`), checked before anything counts.
  assertStrongPassword(input.new_password, "new_password");
  const user = await ctx.db.select().from(users).where(eq(users.id, caller.id)).get();
  if (!user) throw new ApiError("invalid_token", "The session has ended; sign in again");
  const pair = `${await sha256Hex(user.email)}:${input.ip}`;
  await enforceRateLimit(ctx, "login_failures", pair);
  if (!(await verifyPassword(input.current_password, user.passwordHash))) {
    throw new ApiError("invalid_credentials", "The current password is wrong");
  }
  await resetRateLimit(ctx, "login_failures", pair);

  const passwordHash = await hashPassword(input.new_password);
  const now = ctx.now();
  // The channel ends the other sessions first (should D1 then fail, they stay refused). It is also
  // a serialization point: of two sessions changing the password at once, the second is no longer
  // live there and is refused before it touches D1.
  const channel = ctx.userChannel(caller.id);
  if (!(await channel.endSessions(caller.id, { exceptSessionId: caller.sessionId }))) {
    throw new ApiError("invalid_token", "The session has ended; sign in again");
  }
  // Every statement is guarded by the caller's session still being live when the batch runs: of
  // two sessions changing the password at once, the second finds itself revoked by the first and
  // changes nothing, so a thief racing the owner cannot keep the last word.
  const callerLive = sql`exists (select 1 from ${refreshTokens} where ${refreshTokens.familyId} = ${caller.sessionId} and ${refreshTokens.revokedAt} is null)`;
  const [changed] = await ctx.db.batch([
    ctx.db
      .update(users)
      .set({ passwordHash, updatedAt: now.toISOString() })
      .where(and(eq(users.id, caller.id), callerLive))
      .returning({ id: users.id }),
    ctx.db
      .update(refreshTokens)
      .set({ revokedAt: now.toISOString() })
      .where(
        and(
          eq(refreshTokens.userId, caller.id),
          ne(refreshTokens.familyId, caller.sessionId),
          isNull(refreshTokens.revokedAt),
          callerLive,
        ),
      ),
    ctx.db.insert(auditLogs).select(
      ctx.db
        .select({
          id: sql<string>`${newId("aud", now.getTime())}`.as("id"),
          actorId: sql<string>`${caller.id}`.as("actor_id"),
          action: sql<string>`'user.password_change'`.as("action"),
          targetType: sql<string>`'user'`.as("target_type"),
          targetId: sql<string>`${caller.id}`.as("target_id"),
          before: sql<null>`null`.as("before"),
          after: sql<string>`${JSON.stringify({ sessions_kept: [caller.sessionId] })}`.as("after"),
          requestId: sql<string>`${ctx.requestId}`.as("request_id"),
          reason: sql<null>`null`.as("reason"),
          createdAt: sql<string>`${now.toISOString()}`.as("created_at"),
        })
        .from(users)
        .where(and(eq(users.id, caller.id), callerLive)),
    ),
  ]);
  if (changed.length === 0) {
    // D1 had already ended the caller's session: the channel agrees, not a moment later.
    await loggedIfFailed(
      ctx,
      caller.id,
      "ending a session",
      channel.endSessions(caller.id, { sessionId: caller.sessionId }),
    );
    throw new ApiError("invalid_token", "The session has ended; sign in again");
  }
  await closeUserSockets(ctx, caller.id, { reason: "session_ended", exceptSessionId: caller.sessionId });
  ctx.log.info("user.password_changed", { user_id: caller.id });
}
