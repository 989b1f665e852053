import type { UserRole } from "../../db/schema";

/**
 * What authentication needs to know about a user, as D1 (the system of record) holds it: the role,
 * the status, the stamp (`users.updated_at`, which every change to the account moves, including
 * `npm run admin:create`'s) and the sessions (refresh-token families) that still hold an unrevoked
 * token. The user's channel keeps a copy, so hot routes authenticate without reaching D1.
 */
export interface SessionState {
  role: UserRole;
  status: "active" | "blocked";
  stamp: string;
  live: string[];
}

/** The answer of a session check, plain data so it crosses an RPC (error classes do not). */
export type SessionVerdict =
  | { ok: true; role: UserRole }
  | { ok: false; code: "user_blocked" | "invalid_token" };

/** Which of a user's sessions end: one, every one but one (a password change), or all. */
export type SessionsEnd = { sessionId: string } | { exceptSessionId: string } | { all: true };

/** A blocked user is told so before anything else: blocking also ends every session. */
export function judgeSession(
  account: { role: UserRole; status: "active" | "blocked" } | null,
  live: boolean,
): SessionVerdict {
  if (!account) return { ok: false, code: "invalid_token" };
  if (account.status === "blocked") return { ok: false, code: "user_blocked" };
  return live ? { ok: true, role: account.role } : { ok: false, code: "invalid_token" };
}
