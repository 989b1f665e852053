import { and, eq, isNull, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { refreshTokens, type UserRole, users } from "../db/schema";
import type { AppEnv, AuthUser, ServiceContext } from "./context";
import { verifyAccessToken } from "./jwt";
import { hasPermission, type Permission } from "./permissions";
import { ApiError } from "./problem";

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

export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match?.[1]) throw new ApiError("authentication_required", "Send an Authorization: Bearer token");
  c.set("user", await authenticate(c.get("ctx"), match[1]));
  return next();
};

export function requireRole(...roles: UserRole[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!roles.includes(c.get("user").role)) {
      throw new ApiError("forbidden", `This route is for ${roles.join(" or ")} accounts`);
    }
    return next();
  };
}

export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!hasPermission(c.get("user").role, permission)) {
      throw new ApiError("forbidden", `Requires the ${permission} permission`);
    }
    return next();
  };
}
