import { DurableObject } from "cloudflare:workers";
import type { WireEvent } from "../services/events/wire";
import { eventId, IDENTITY_HEADERS, parseSince, type SocketIdentity } from "./protocol";

/** How many past events a user can catch up on with `?since=`. */
export const USER_CHANNEL_HISTORY = 200;

/**
 * One per user: the sockets of `GET /v1/ws` and the events addressed to that user (offers, their
 * rides, wallet, payments), each numbered with the channel's own `seq` so a reconnect can catch up.
 */
export class UserChannel extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, ride_id TEXT, data TEXT NOT NULL, at TEXT NOT NULL)",
    );
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
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
    const userId = request.headers.get(IDENTITY_HEADERS.userId);
    const role = request.headers.get(IDENTITY_HEADERS.role);
    if (!userId || !role) return new Response("not found", { status: 404 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [userId]);
    server.serializeAttachment({ userId, role } satisfies SocketIdentity);
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
    ws.send(
      JSON.stringify({ type: "error", code: "invalid_frame", detail: 'This channel only answers "ping"' }),
    );
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 ? 1000 : code, "closing");
  }
}
