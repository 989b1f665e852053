import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import type { UserRole } from "../../src/db/schema";
import { createStaff, registerUser, type TestUser } from "../helpers";
import { onlineDriver } from "../ride-helpers";

export type Role = UserRole;
export const ALL_ROLES: readonly Role[] = ["passenger", "driver", "admin", "finance", "support", "ops"];

const actors = new Map<Role, Promise<TestUser>>();

/**
 * One long-lived user per role for the file: passengers and drivers self-registered (the driver
 * with a `pop` vehicle and online, so a refused driver request gets as far as it can), staff made
 * in D1 as `admin:create` does. Never the owner of a table resource: builders make their own.
 */
export function actor(role: Role): Promise<TestUser> {
  let user = actors.get(role);
  if (!user) {
    user =
      role === "passenger"
        ? registerUser("passenger")
        : role === "driver"
          ? onlineDriver()
          : createStaff(role).then((staff) => ({ ...staff, role }));
    actors.set(role, user);
  }
  return user;
}

/** A fresh user of the role, not shared with any other case. */
export function freshUser(role: Role): Promise<TestUser> {
  return role === "passenger" || role === "driver"
    ? registerUser(role)
    : createStaff(role).then((staff) => ({ ...staff, role }));
}

function currentKey(): { kid: string; secret: string } {
  const [first] = String(env.JWT_SIGNING_KEYS).split(",");
  const at = first?.indexOf(":") ?? -1;
  if (!first || at < 0) throw new Error("JWT_SIGNING_KEYS is not kid:secret,...");
  return { kid: first.slice(0, at).trim(), secret: first.slice(at + 1).trim() };
}

/** Re-signs the user's own claims (same subject, role and live session) with the given key and lifetime. */
async function resign(user: TestUser, key: { kid: string; secret: string }, iat: number, exp: number) {
  const claims = decodeJwt(user.accessToken);
  return new SignJWT({ role: claims.role, sid: claims.sid })
    .setProtectedHeader({ alg: "HS256", kid: key.kid, typ: "JWT" })
    .setSubject(String(claims.sub))
    .setJti(crypto.randomUUID())
    .setIssuer(String(claims.iss))
    .setAudience(claims.aud as string)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key.secret));
}

/** The user's token as the API signs it, except that it expired a minute ago. */
export function expiredToken(user: TestUser): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return resign(user, currentKey(), now - 3600, now - 60);
}

/** The user's claims under the API's key id, signed with a secret the API does not have. */
export function foreignToken(user: TestUser): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const forger = { kid: currentKey().kid, secret: "attacker-chosen-secret-0123456789abcdef" };
  return resign(user, forger, now, now + 900);
}
