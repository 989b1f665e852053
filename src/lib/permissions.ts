import type { UserRole } from "../db/schema";

/** Named permissions checked by admin routes; roles grant them. */
export const PERMISSIONS = [
  "pricing:read",
  "pricing:write",
  "commission:read",
  "commission:write",
  "settlements:read",
  "settlements:write",
  "audit:read",
  "users:read",
  "users:block",
  "reports:read",
  "payments:refund",
  "ledger:read",
  "drivers:review",
  "reconcile:run",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<UserRole, readonly Permission[]> = {
  passenger: [],
  driver: [],
  admin: PERMISSIONS,
  finance: [
    "commission:read",
    "commission:write",
    "settlements:read",
    "settlements:write",
    "reports:read",
    "payments:refund",
    "ledger:read",
    "audit:read",
    "reconcile:run",
  ],
  support: ["users:read", "users:block", "audit:read", "reports:read"],
  ops: ["pricing:read", "pricing:write", "commission:read", "reports:read", "users:read", "drivers:review"],
};

export const STAFF_ROLES = ["admin", "finance", "support", "ops"] as const satisfies readonly UserRole[];
export type StaffRole = (typeof STAFF_ROLES)[number];

export function permissionsOf(role: UserRole): readonly Permission[] {
  return ROLE_PERMISSIONS[role];
}

export function hasPermission(role: UserRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
