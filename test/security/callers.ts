import { hasPermission } from "../../src/lib/permissions";
import type { TestUser } from "../helpers";
import { ALL_ROLES, actor, type Role } from "./actors";
import type { Access, Resource, RouteEntry } from "./routes.table";

/** The roles a table entry lets in; a staff route's are those whose role grants the permission. */
export function allowedRoles(access: Access): Role[] {
  if ("public" in access) return [];
  if ("roles" in access) return [...access.roles];
  return ALL_ROLES.filter((role) => hasPermission(role, access.permission));
}

/** Who may legitimately make the request: the resource's owner in an allowed role, else a user of one. */
export async function legitimateCaller(entry: RouteEntry, resource: Resource | undefined): Promise<TestUser> {
  const roles = allowedRoles(entry.access);
  for (const role of roles) {
    const owner = resource?.owners[role];
    if (owner) return owner;
  }
  const [first] = roles;
  if (!first) throw new Error("a public route has no legitimate caller");
  return actor(first);
}
