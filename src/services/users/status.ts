import { desc, eq, lt } from "drizzle-orm";
import { auditLogs, drivers, refreshTokens, users } from "../../db/schema";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { STAFF_ROLES } from "../../lib/permissions";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import { type PublicUser, toPublicUser } from "../auth/accounts";
import { closeUserSockets } from "../auth/end-sessions";
import type { AuthUser, ServiceContext } from "../context";

/**
 * Blocks or unblocks a user, audited. Blocking also revokes every refresh token (access tokens
 * stop working at once because `requireAuth` reads the status on every request), takes a driver
 * offline so dispatch no longer offers him rides, and closes the user's open sockets (4403).
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
  if (user.status === status) return toPublicUser(user);
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
    await ctx.db.batch([
      update,
      audit,
      ctx.db.update(refreshTokens).set({ revokedAt: now }).where(eq(refreshTokens.userId, targetId)),
      ctx.db.update(drivers).set({ status: "offline", updatedAt: now }).where(eq(drivers.userId, targetId)),
    ]);
    await closeUserSockets(ctx, targetId, { reason: "user_blocked" });
  } else {
    await ctx.db.batch([update, audit]);
  }
  return toPublicUser({ ...user, status, updatedAt: now });
}

export async function listAuditLogs(ctx: ServiceContext, page: PageQuery) {
  const rows = await ctx.db
    .select()
    .from(auditLogs)
    .where(page.cursor ? lt(auditLogs.id, page.cursor) : undefined)
    .orderBy(desc(auditLogs.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return {
    items: items.map((row) => ({
      id: row.id,
      actor_id: row.actorId,
      action: row.action,
      target_type: row.targetType,
      target_id: row.targetId,
      before: row.before === null ? null : JSON.parse(row.before),
      after: row.after === null ? null : JSON.parse(row.after),
      request_id: row.requestId,
      created_at: row.createdAt,
    })),
    next_cursor,
  };
}

function isStaff(role: string): boolean {
  return (STAFF_ROLES as readonly string[]).includes(role);
}
