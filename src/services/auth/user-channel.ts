import type { UserRole } from "../../db/schema";
import type { SessionsEnd, SessionVerdict } from "./session-verdict";

/**
 * Why a user's sockets are closed: the session ended (logout, refresh-token reuse, password
 * change) or the account was blocked. With a `sessionId` only that session's sockets close; with
 * an `exceptSessionId` every socket but that session's; with neither, all of them.
 */
export interface SocketsEnd {
  reason: "session_ended" | "user_blocked";
  sessionId?: string;
  exceptSessionId?: string;
}

/**
 * What services ask of a user's channel, the object that holds the user's `/v1/ws` sockets:
 * socket tickets (kept there, single use), closing the sockets when a session ends, and the
 * user's session state (role, status, live sessions), a write-through copy of D1's that hot
 * routes authenticate against. Every method names the user: an object does not know its own name.
 */
export interface UserChannelPort {
  /** Stores a ticket by the hash of its secret, for `sessionId`, until `expiresAtMs`. */
  issueTicket(secretHash: string, sessionId: string, expiresAtMs: number): Promise<void>;
  /** Burns the ticket and answers its session, or null if it is unknown, used or expired. */
  redeemTicket(secretHash: string, nowMs: number): Promise<string | null>;
  /** Closes the channel's sockets of the user (of one session, if named); answers how many. */
  closeSockets(userId: string, end: SocketsEnd): Promise<number>;
  /** Drops the events kept for catching up and every ticket: the account was erased. */
  forget(): Promise<void>;
  /** Whether the session is live and the user active; fills the state from D1 once when cold. */
  checkSession(userId: string, sessionId: string): Promise<SessionVerdict>;
  /**
   * A session was created in D1 (sign-in, registration). With `account` (registration: a new
   * user has no other session) a cold channel starts from it instead of reading D1; a `stamp`
   * that differs from the one held means D1 changed behind the channel's back, so it reloads.
   */
  sessionStarted(
    userId: string,
    sessionId: string,
    seen: { stamp: string; account?: { role: UserRole; status: "active" | "blocked" } },
  ): Promise<void>;
  /** Reloads from D1 if the account's stamp moved since the state was read (a refresh). */
  accountSeen(userId: string, stamp: string): Promise<void>;
  /**
   * Ends sessions, before D1 is changed. Answers false, ending nothing, when `exceptSessionId`
   * is not live itself: of two sessions ending each other, the second finds itself ended.
   */
  endSessions(userId: string, end: SessionsEnd): Promise<boolean>;
  /** Sets the status; blocking also ends every session. */
  setStatus(userId: string, status: "active" | "blocked"): Promise<void>;
}
