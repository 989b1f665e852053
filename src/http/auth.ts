import type { MiddlewareHandler } from "hono";
import type { UserRole } from "../db/schema";
import { hasPermission, type Permission } from "../lib/permissions";
import { ApiError } from "../lib/problem";
import { authenticate } from "../services/auth/authenticate";
import type { AppEnv } from "./env";

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
