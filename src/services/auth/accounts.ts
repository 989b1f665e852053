import { and, eq, isNull, sql } from "drizzle-orm";
import { refreshTokens, type UserRole, users } from "../../db/schema";
import { encryptText, hmacSha256Hex, randomToken, sha256Hex } from "../../lib/crypto";
import { isUniqueViolation } from "../../lib/db-errors";
import { newId } from "../../lib/ids";
import { signAccessToken } from "../../lib/jwt";
import { hashPassword, verifyPassword } from "../../lib/password";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { enforceRateLimit, resetRateLimit } from "../requests/rate-limit";
import { consentInserts } from "../users/consents";
import { closeUserSockets } from "./end-sessions";
import { loggedIfFailed } from "./session-state";

export interface PublicUser {
  id: string;
  role: UserRole;
  status: "active" | "blocked";
  name: string;
  email: string;
  phone: string;
  created_at: string;
}

export interface Session {
  user: PublicUser;
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
}

export interface RegisterInput {
  name: string;
  email: string;
  phone: string;
  password: string;
  role: "passenger" | "driver";
  /** 11 digits, already validated. */
  cpf?: string;
  /** The client's address (`cf-connecting-ip`), for the per-IP limit. */
  ip: string;
  /** Versions accepted at registration; omitted means the current ones. */
  terms_version?: string;
  privacy_version?: string;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const PASSWORD_RULE = "at least 10 characters, with at least one letter and one digit";

export function assertStrongPassword(password: string, field = "password"): void {
  if (password.length < 10 || !/[A-Za-z]/.test(password) || !/\d/.test(password)) {
    throw new ApiError("weak_password", `The password needs ${PASSWORD_RULE}`, {
      errors: [{ path: field, message: PASSWORD_RULE }],
    });
  }
}

const REGISTRATION_CONFLICT_DETAIL =
  "An account cannot be created with these details; sign in or recover your account";

/**
 * Every costly step (the password hash, the CPF encryption, the session's signing) runs before the
 * insert that finds a taken email or CPF, so a conflict costs as much time as a success.
 */
export async function register(ctx: ServiceContext, input: RegisterInput): Promise<Session> {
  assertStrongPassword(input.password);
  await enforceRateLimit(ctx, "register_ip", input.ip);
  const now = ctx.now();
  const id = newId("usr", now.getTime());
  const row = {
    id,
    role: input.role,
    status: "active" as const,
    name: input.name.trim(),
    email: normalizeEmail(input.email),
    phone: input.phone,
    passwordHash: await hashPassword(input.password),
    cpfCiphertext: input.cpf ? await encryptText(ctx.config.CPF_ENCRYPTION_KEY, input.cpf) : null,
    cpfHash: input.cpf ? await hmacSha256Hex(ctx.config.CPF_HASH_KEY, input.cpf) : null,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    erasedAt: null,
  };
  const session = await newSession(ctx, { id, role: input.role });
  const accepted = { terms: input.terms_version, privacy: input.privacy_version };
  try {
    await ctx.db.batch([
      ctx.db.insert(users).values(row),
      ...consentInserts(ctx, id, now, accepted),
      session.insert,
    ]);
  } catch (error) {
    // One answer for a taken email and a taken CPF, naming neither: registration must not tell
    // a stranger who has an account or whose CPF is registered.
    if (isUniqueViolation(error, "users.email") || isUniqueViolation(error, "users.cpf_hash")) {
      throw new ApiError("registration_conflict", REGISTRATION_CONFLICT_DETAIL);
    }
    throw error;
  }
  // A new user has no other session: the channel starts from what was written (else its cold path reads it).
  const account = { role: row.role, status: row.status };
  const told = ctx.userChannel(id).sessionStarted(id, session.familyId, { stamp: row.updatedAt, account });
  await loggedIfFailed(ctx, id, "telling the channel of a new session", told);
  ctx.log.info("user registered", { user_id: id, role: input.role });
  return session.reply(toPublicUser(row));
}

// A real hash of a random password: an unknown email costs as much time as a wrong password,
// so response times do not reveal which emails are registered.
let decoyHash: Promise<string> | undefined;

export async function login(
  ctx: ServiceContext,
  input: { email: string; password: string; ip: string },
): Promise<Session> {
  const email = normalizeEmail(input.email);
  await enforceRateLimit(ctx, "login_ip", input.ip);
  // Failures lock out an account and IP pair, never the account: a stranger elsewhere cannot
  // keep the owner out. The attempt counts before the check and a success clears the pair.
  const pair = `${await sha256Hex(email)}:${input.ip}`;
  await enforceRateLimit(ctx, "login_failures", pair);

  const user = await ctx.db.select().from(users).where(eq(users.email, email)).get();
  decoyHash ??= hashPassword(randomToken());
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash));
  if (!user || !ok) throw new ApiError("invalid_credentials");
  if (user.status === "blocked") throw new ApiError("user_blocked");
  await resetRateLimit(ctx, "login_failures", pair);

  const session = await newSession(ctx, user);
  await session.insert;
  // Not caught: a session the channel never heard of is refused on hot routes, so sign-in fails
  // instead (the unused D1 session is harmless) and the client signs in again.
  await ctx.userChannel(user.id).sessionStarted(user.id, session.familyId, { stamp: user.updatedAt });
  return session.reply(toPublicUser(user));
}

/**
 * Rotates a refresh token. The guarded UPDATE is the serialization point: of two requests with
 * the same token only one revokes it; the other, like any later use, is reuse and ends the family.
 */
export async function refresh(ctx: ServiceContext, token: string): Promise<Session> {
  const now = ctx.now().toISOString();
  const tokenHash = await sha256Hex(token);
  const rotated = await ctx.db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(refreshTokens.tokenHash, tokenHash),
        isNull(refreshTokens.revokedAt),
        sql`${refreshTokens.expiresAt} > ${now}`,
      ),
    )
    .returning({ userId: refreshTokens.userId, familyId: refreshTokens.familyId })
    .get();

  if (!rotated) {
    const known = await ctx.db
      .select({
        userId: refreshTokens.userId,
        familyId: refreshTokens.familyId,
        revokedAt: refreshTokens.revokedAt,
        userStatus: users.status,
      })
      .from(refreshTokens)
      .innerJoin(users, eq(users.id, refreshTokens.userId))
      .where(eq(refreshTokens.tokenHash, tokenHash))
      .get();
    // Blocking revokes every token: a blocked user's token is refused as blocked, not as reuse.
    if (known?.userStatus === "blocked") throw new ApiError("user_blocked");
    if (known?.revokedAt) {
      // A token of a session that already ended (logout, password change, an earlier reuse) is
      // refused with no side effect: replaying it must not let anyone close the owner's sockets.
      if (!(await familyIsLive(ctx, known.familyId, now))) {
        throw new ApiError("refresh_token_reused", "This session has ended; sign in again");
      }
      // The channel first: should D1 then fail, the session is refused, never left live.
      await ctx.userChannel(known.userId).endSessions(known.userId, { sessionId: known.familyId });
      await revokeFamily(ctx, known.familyId);
      ctx.log.warn("refresh token reused; family revoked", { family_id: known.familyId });
      // The token may be in a thief's hands: every socket of the user closes, not only this family's.
      await closeUserSockets(ctx, known.userId, { reason: "session_ended" });
      throw new ApiError("refresh_token_reused", "This refresh token was already used; sign in again");
    }
    throw new ApiError("refresh_token_invalid", "The refresh token is unknown or expired");
  }

  const user = await ctx.db.select().from(users).where(eq(users.id, rotated.userId)).get();
  if (!user) throw new ApiError("refresh_token_invalid");
  if (user.status === "blocked") {
    await revokeFamily(ctx, rotated.familyId);
    throw new ApiError("user_blocked");
  }
  const session = await newSession(ctx, user, rotated.familyId);
  await session.insert;
  // A change made behind the channel's back (`admin:create` writes D1 only) reaches it here, at the
  // latest one access-token lifetime later. The rotation is done, so a failure only logs.
  await loggedIfFailed(
    ctx,
    user.id,
    "reloading the session state",
    ctx.userChannel(user.id).accountSeen(user.id, user.updatedAt),
  );
  return session.reply(toPublicUser(user));
}

/** Whether a session still holds a token that can refresh: its newest, unrevoked and unexpired. */
async function familyIsLive(ctx: ServiceContext, familyId: string, now: string): Promise<boolean> {
  const live = await ctx.db
    .select({ id: refreshTokens.id })
    .from(refreshTokens)
    .where(
      and(
        eq(refreshTokens.familyId, familyId),
        isNull(refreshTokens.revokedAt),
        sql`${refreshTokens.expiresAt} > ${now}`,
      ),
    )
    .get();
  return live !== undefined;
}

/** Ends the session the refresh token belongs to, if it is the caller's; always succeeds. */
export async function logout(ctx: ServiceContext, userId: string, token: string): Promise<void> {
  const tokenHash = await sha256Hex(token);
  const owned = await ctx.db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.tokenHash, tokenHash), eq(refreshTokens.userId, userId)))
    .get();
  if (!owned) return;
  // The channel first: should D1 then fail, the session is refused, never left live.
  await ctx.userChannel(userId).endSessions(userId, { sessionId: owned.familyId });
  await revokeFamily(ctx, owned.familyId);
  await closeUserSockets(ctx, userId, { reason: "session_ended", sessionId: owned.familyId });
}

export async function getUser(ctx: ServiceContext, id: string): Promise<PublicUser> {
  const user = await ctx.db.select().from(users).where(eq(users.id, id)).get();
  if (!user) throw new ApiError("not_found", "No such user");
  return toPublicUser(user);
}

export function revokeFamily(ctx: ServiceContext, familyId: string) {
  return ctx.db
    .update(refreshTokens)
    .set({ revokedAt: ctx.now().toISOString() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

async function newSession(
  ctx: ServiceContext,
  user: { id: string; role: UserRole },
  familyId: string = newId("fam", ctx.now().getTime()),
) {
  const now = ctx.now();
  const refreshToken = randomToken(32);
  const { ACCESS_TOKEN_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS, JWT_SIGNING_KEYS } = ctx.config;
  const accessToken = await signAccessToken(
    JWT_SIGNING_KEYS,
    { sub: user.id, role: user.role, sid: familyId },
    ACCESS_TOKEN_TTL_SECONDS,
    now.getTime(),
  );
  const insert = ctx.db.insert(refreshTokens).values({
    id: newId("rtk", now.getTime()),
    userId: user.id,
    familyId,
    tokenHash: await sha256Hex(refreshToken),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000).toISOString(),
  });
  return {
    familyId,
    insert,
    reply: (publicUser: PublicUser): Session => ({
      user: publicUser,
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: "Bearer",
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
    }),
  };
}

export function toPublicUser(row: typeof users.$inferSelect): PublicUser {
  return {
    id: row.id,
    role: row.role,
    status: row.status,
    name: row.name,
    email: row.email,
    phone: row.phone,
    created_at: row.createdAt,
  };
}
