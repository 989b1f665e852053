import type { MiddlewareHandler } from "hono";
import type { UserRole } from "../db/schema";
import { hasPermission, type Permission } from "../lib/permissions";
import { ApiError } from "../lib/problem";
import { authenticate, authenticateAtEdge } from "../services/auth/authenticate";
import type { AppEnv } from "./env";

function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match?.[1]) throw new ApiError("authentication_required", "Send an Authorization: Bearer token");
  return match[1];
}

/** Authenticates against D1, the system of record (one read). */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("user", await authenticate(c.get("ctx"), bearerToken(c.req.header("authorization"))));
  return next();
};

/**
 * Authenticates against the session state in the user's channel, with no D1 round trip: every
 * passenger and driver route (rides, locations, offers, wallet, payouts, payments, devices,
 * notifications, sockets). Same refusals, same moment: every change to a session or an account
 * reaches the channel in the service call that makes it. Staff routes, `/v1/me` and the auth
 * routes keep `requireAuth`: they are not hot, and D1 also sees what `admin:create` writes there
 * directly.
 */
export const requireEdgeAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("user", await authenticateAtEdge(c.get("ctx"), bearerToken(c.req.header("authorization"))));
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
