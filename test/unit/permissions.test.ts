import { describe, expect, it } from "vitest";
import { USER_ROLES } from "../../src/db/schema";
import { hasPermission, PERMISSIONS, type Permission, permissionsOf } from "../../src/lib/permissions";

const EXPECTED: Record<(typeof USER_ROLES)[number], readonly Permission[]> = {
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

describe.each(USER_ROLES)("role %s", (role) => {
  it("has exactly its listed permissions", () => {
    expect([...permissionsOf(role)].sort()).toEqual([...EXPECTED[role]].sort());
  });

  it.each(PERMISSIONS)(`hasPermission(${role}, %s) agrees with the list`, (permission) => {
    expect(hasPermission(role, permission)).toBe(EXPECTED[role].includes(permission));
  });
});

describe("notable grants and refusals", () => {
  it.each<[(typeof USER_ROLES)[number], Permission, boolean]>([
    ["admin", "pricing:write", true],
    ["admin", "users:block", true],
    ["finance", "payments:refund", true],
    ["finance", "pricing:write", false],
    ["finance", "users:block", false],
    ["support", "users:block", true],
    ["support", "payments:refund", false],
    ["ops", "pricing:write", true],
    ["ops", "users:block", false],
    ["ops", "audit:read", false],
    ["passenger", "users:read", false],
    ["driver", "reports:read", false],
  ])("%s → %s is %s", (role, permission, granted) => {
    expect(hasPermission(role, permission)).toBe(granted);
  });

  it("gives riders and drivers no admin permission at all", () => {
    expect(permissionsOf("passenger")).toHaveLength(0);
    expect(permissionsOf("driver")).toHaveLength(0);
  });

  it("gives admins every permission", () => {
    for (const permission of PERMISSIONS) expect(hasPermission("admin", permission)).toBe(true);
  });
});
