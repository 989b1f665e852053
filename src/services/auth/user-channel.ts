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
 * socket tickets (kept there, single use) and closing the sockets when a session ends.
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
}
