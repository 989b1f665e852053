import { DurableObject } from "cloudflare:workers";
import { createServiceContext } from "../composition";
import type { UserRole } from "../db/schema";
import { loadSessionState } from "../services/auth/session-state";
import type { SessionsEnd, SessionVerdict } from "../services/auth/session-verdict";
import type { SocketsEnd, UserChannelPort } from "../services/auth/user-channel";
import type { WireEvent } from "../services/events/wire";
import type { RateFamily, RateRule, RateVerdict } from "../services/requests/rate-limiter-port";
import { countHit, type RateWindow } from "../services/requests/rate-window";
import { FrameMeter } from "./frame-limit";
import { CLOSE_CODES, closeSessionSockets, eventId, identityOf, parseSince } from "./protocol";
import { SessionStore } from "./session-store";

/** How many past events a user can catch up on with `?since=`. */
export const USER_CHANNEL_HISTORY = 200;

/**
 * One per user: the sockets of `GET /v1/ws` and the events addressed to that user (offers, their
 * rides, wallet, payments), each numbered with the channel's own `seq` so a reconnect can catch up.
 * It also holds the user's socket tickets, closes the sockets when a session ends, and keeps the
 * user's session state (`SessionStore`) that hot routes authenticate against.
 */
export class UserChannel extends DurableObject<Env> implements UserChannelPort {
  private readonly sql: SqlStorage;
  private readonly frames = new FrameMeter();
  private readonly sessions: SessionStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, ride_id TEXT, data TEXT NOT NULL, at TEXT NOT NULL)",
    );
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS tickets (secret_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    );
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.sessions = new SessionStore(this.sql, (userId) =>
      loadSessionState(createServiceContext(env), userId),
    );
  }

  checkSession(userId: string, sessionId: string): Promise<SessionVerdict> {
    return this.sessions.check(userId, sessionId);
  }

  sessionStarted(
    userId: string,
    sessionId: string,
    seen: { stamp: string; account?: { role: UserRole; status: "active" | "blocked" } },
  ): Promise<void> {
    return this.sessions.started(userId, sessionId, seen);
  }

  accountSeen(userId: string, stamp: string): Promise<void> {
    return this.sessions.seen(userId, stamp);
  }

  endSessions(userId: string, end: SessionsEnd): Promise<boolean> {
    return this.sessions.end(userId, end);
  }

  setStatus(userId: string, status: "active" | "blocked"): Promise<void> {
    return this.sessions.setStatus(userId, status);
  }

  /**
   * The user's own rate limits (`*_user` families): counted in the object every passenger and
   * driver route already calls to authenticate, rather than in a counter object of their own,
   * which a user's first request of a family would have to create (measured: that creation was
   * the largest single cost of a ride request under `wrangler dev`, see docs/benchmarks.md).
   */
  async hitLimit(family: RateFamily, rule: RateRule, nowMs: number): Promise<RateVerdict> {
    const key = `limit:${family}`;
    const { verdict, next } = countHit(this.ctx.storage.kv.get<RateWindow>(key), rule, nowMs);
    if (next) this.ctx.storage.kv.put(key, next);
    return verdict;
  }

  async resetLimit(family: RateFamily): Promise<void> {
    this.ctx.storage.kv.delete(`limit:${family}`);
  }

  async issueTicket(secretHash: string, sessionId: string, expiresAtMs: number): Promise<void> {
    // Expired tickets go whenever a new one comes: the table holds only a user's last few.
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", Date.now());
    this.sql.exec(
      "INSERT INTO tickets (secret_hash, session_id, expires_at) VALUES (?, ?, ?)",
      secretHash,
      sessionId,
      expiresAtMs,
    );
  }

  async redeemTicket(secretHash: string, nowMs: number): Promise<string | null> {
    const ticket = this.sql
      .exec<{ session_id: string; expires_at: number }>(
        "DELETE FROM tickets WHERE secret_hash = ? RETURNING session_id, expires_at",
        secretHash,
      )
      .toArray()[0];
    return ticket && ticket.expires_at > nowMs ? ticket.session_id : null;
  }

  async closeSockets(userId: string, end: SocketsEnd): Promise<number> {
    // A session's tickets go with it (the upgrade would refuse them anyway).
    if (end.sessionId) this.sql.exec("DELETE FROM tickets WHERE session_id = ?", end.sessionId);
    else if (end.exceptSessionId)
      this.sql.exec("DELETE FROM tickets WHERE session_id <> ?", end.exceptSessionId);
    else this.sql.exec("DELETE FROM tickets");
    return closeSessionSockets(this.ctx.getWebSockets(), userId, end);
  }

  async forget(): Promise<void> {
    this.sql.exec("DELETE FROM events");
    this.sql.exec("DELETE FROM tickets");
  }

  async deliver(userId: string, event: WireEvent): Promise<number> {
    const seq = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO events (type, ride_id, data, at) VALUES (?, ?, ?, ?) RETURNING seq",
        event.type,
        event.ride_id ?? null,
        JSON.stringify(event.data),
        event.at,
      )
      .one().seq;
    this.sql.exec("DELETE FROM events WHERE seq <= ?", seq - USER_CHANNEL_HISTORY);
    const text = JSON.stringify({ ...event, id: eventId(userId, seq), seq });
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // Closed meanwhile.
      }
    }
    return seq;
  }

  override async fetch(request: Request): Promise<Response> {
    const identity = identityOf(request);
    if (!identity) return new Response("not found", { status: 404 });
    const { userId } = identity;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [userId]);
    server.serializeAttachment(identity);
    const since = parseSince(request.url);
    if (since > 0) {
      const missed = this.sql
        .exec<{ seq: number; type: string; ride_id: string | null; data: string; at: string }>(
          "SELECT seq, type, ride_id, data, at FROM events WHERE seq > ? ORDER BY seq",
          since,
        )
        .toArray();
      for (const e of missed) {
        const event: WireEvent = {
          type: e.type,
          id: eventId(userId, e.seq),
          seq: e.seq,
          ...(e.ride_id ? { ride_id: e.ride_id } : {}),
          data: JSON.parse(e.data),
          at: e.at,
        };
        server.send(JSON.stringify(event));
      }
    }
    const protocol = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim();
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "sec-websocket-protocol": protocol } : {},
    });
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    if (!this.frames.admit(ws)) return ws.close(CLOSE_CODES.tooManyFrames, "too many frames");
    ws.send(
      JSON.stringify({ type: "error", code: "invalid_frame", detail: 'This channel only answers "ping"' }),
    );
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 ? 1000 : code, "closing");
  }
}
