import { eq } from "drizzle-orm";
import { drivers, refreshTokens, users } from "../../db/schema";
import { STAFF_ROLES } from "../../lib/permissions";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import { type PublicUser, toPublicUser } from "../auth/accounts";
import { closeUserSockets } from "../auth/end-sessions";
import { loggedIfFailed } from "../auth/session-state";
import type { AuthUser, ServiceContext } from "../context";
import { forgetIndexedDriver } from "../drivers/index-sync";

/**
 * Blocks or unblocks a user, audited. Blocking also revokes every refresh token (access tokens
 * stop working at once: D1 and the user's channel, which hot routes authenticate against, both
 * say blocked before this answers), takes a driver offline so dispatch no longer offers him
 * rides, and closes the user's open sockets (4403).
 *
 * The channel is told on the side that fails closed: a block reaches it before D1 (if D1 then
 * fails, the user is refused until an admin retries or unblocks) and again after, in case it
 * reloaded from D1 in between; an unblock reaches it after D1 (if that fails, the user stays
 * refused and the admin's retry, which finds D1 already unblocked, tells the channel again).
 */
export async function setUserStatus(
  ctx: ServiceContext,
  actor: AuthUser,
  targetId: string,
  status: "active" | "blocked",
): Promise<PublicUser> {
  const actorId = actor.id;
  const user = await ctx.db.select().from(users).where(eq(users.id, targetId)).get();
  if (!user) throw new ApiError("not_found", "No such user");
  if (targetId === actorId) throw new ApiError("forbidden", "You cannot block yourself");
  // Staff accounts are managed by admins only: support cannot lock out the people above them.
  if (isStaff(user.role) && actor.role !== "admin") {
    throw new ApiError("forbidden", "Only an admin can block or unblock staff accounts");
  }
  const channel = ctx.userChannel(targetId);
  if (user.status === status) {
    await channel.setStatus(targetId, status);
    return toPublicUser(user);
  }
  const now = ctx.now().toISOString();
  const audit = auditStatement(ctx, {
    actorId,
    action: status === "blocked" ? "user.block" : "user.unblock",
    targetType: "user",
    targetId,
    before: { status: user.status },
    after: { status },
  });
  const update = ctx.db.update(users).set({ status, updatedAt: now }).where(eq(users.id, targetId));
  if (status === "blocked") {
    await channel.setStatus(targetId, "blocked");
    await ctx.db.batch([
      update,
      audit,
      ctx.db.update(refreshTokens).set({ revokedAt: now }).where(eq(refreshTokens.userId, targetId)),
      ctx.db.update(drivers).set({ status: "offline", updatedAt: now }).where(eq(drivers.userId, targetId)),
    ]);
    await forgetIndexedDriver(ctx, targetId);
    await loggedIfFailed(ctx, targetId, "blocking in the channel", channel.setStatus(targetId, "blocked"));
    await closeUserSockets(ctx, targetId, { reason: "user_blocked" });
  } else {
    await ctx.db.batch([update, audit]);
    await channel.setStatus(targetId, "active");
  }
  return toPublicUser({ ...user, status, updatedAt: now });
}

function isStaff(role: string): boolean {
  return (STAFF_ROLES as readonly string[]).includes(role);
}
