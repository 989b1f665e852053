import { z } from "zod";
import type { SocketsEnd } from "../services/auth/user-channel";

/** Close codes for refused or broken sockets (4000–4999 is the application range). */
export const CLOSE_CODES = {
  invalidFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
  /** More frames a second than `MAX_FRAMES_PER_SECOND` (4429, after HTTP's 429). */
  tooManyFrames: 4429,
} as const;

/** The only frames a client may send; the text "ping" is answered "pong" without waking us. */
export const ClientFrameSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("location"),
    lat: z.number().min(-90).max(90),
    lng: z.number().min(-180).max(180),
    heading: z.number().min(0).max(360).optional(),
    speed: z.number().min(0).max(100).optional(),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** Identity of a socket, kept across hibernation with serializeAttachment. */
export interface SocketIdentity {
  userId: string;
  role: string;
  /** The session the socket was opened with (absent on sockets older than this field). */
  sessionId?: string;
}

/** Headers the Worker sets when it forwards an authenticated upgrade to an object. */
export const IDENTITY_HEADERS = {
  userId: "x-mobility-user-id",
  role: "x-mobility-user-role",
  sessionId: "x-mobility-session-id",
} as const;

/** The identity a forwarded upgrade carries, or null when the Worker did not set it. */
export function identityOf(request: Request): SocketIdentity | null {
  const userId = request.headers.get(IDENTITY_HEADERS.userId);
  const role = request.headers.get(IDENTITY_HEADERS.role);
  const sessionId = request.headers.get(IDENTITY_HEADERS.sessionId) ?? undefined;
  return userId && role ? { userId, role, sessionId } : null;
}

/**
 * Closes the given sockets of a user whose session ended: all of them, one session's, or all
 * but one session's.
 * 4401 when the session ended, 4403 when the account was blocked. Answers how many closed.
 */
export function closeSessionSockets(sockets: WebSocket[], userId: string, end: SocketsEnd): number {
  const code = end.reason === "user_blocked" ? CLOSE_CODES.forbidden : CLOSE_CODES.unauthorized;
  let closed = 0;
  for (const ws of sockets) {
    const identity = ws.deserializeAttachment() as SocketIdentity | null;
    if (identity?.userId !== userId) continue;
    if (end.sessionId && identity.sessionId && identity.sessionId !== end.sessionId) continue;
    // A socket without a session id cannot be shown to be the kept session's: it closes.
    if (end.exceptSessionId && identity.sessionId === end.exceptSessionId) continue;
    try {
      ws.close(code, end.reason);
      closed++;
    } catch {
      // Already closing.
    }
  }
  return closed;
}

export function eventId(scope: string, seq: number): string {
  return `evt_${scope}_${seq}`;
}

export function parseSince(url: string): number {
  const since = Number(new URL(url).searchParams.get("since"));
  return Number.isInteger(since) && since > 0 ? since : 0;
}
