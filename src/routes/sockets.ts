import type { Context } from "hono";
import type { AppEnv } from "../http/env";
import { ApiError } from "../lib/problem";
import { CLOSE_CODES, IDENTITY_HEADERS } from "../objects/protocol";
import { authenticateAtEdge } from "../services/auth/authenticate";
import { redeemSocketTicket } from "../services/auth/socket-tickets";
import type { AuthUser } from "../services/context";

// The plumbing of the WebSocket routes, which forward the upgrade to the Durable Object that
// holds the sockets. They are plain routes (not Hono's upgradeWebSocket) behind no
// header-changing middleware: the 101 reply's headers are immutable. A refused socket is
// accepted and closed at once with a 44xx code and a reason, because a browser cannot read the
// HTTP status of a failed handshake.

/**
 * The access token comes only in `Sec-WebSocket-Protocol: bearer, <token>`, or a single-use
 * ticket (`POST /v1/ws/ticket`) as `?ticket=`: a URL lands in request logs, so it never carries a
 * long-lived credential, and `?token=` is refused even when it is valid.
 */
export async function socketUser(c: Context<AppEnv>): Promise<AuthUser | Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Connect with a WebSocket client (Upgrade: websocket)");
  }
  const protocols =
    c.req
      .header("sec-websocket-protocol")
      ?.split(",")
      .map((p) => p.trim()) ?? [];
  if (c.req.query("token") !== undefined) {
    return refuse(
      c,
      CLOSE_CODES.unauthorized,
      "token_in_url: send Sec-WebSocket-Protocol: bearer, <token>, or ?ticket= from POST /v1/ws/ticket",
    );
  }
  const ticket = c.req.query("ticket");
  const token = protocols[0] === "bearer" ? protocols[1] : undefined;
  if (!ticket && !token) return refuse(c, CLOSE_CODES.unauthorized, "missing token");
  try {
    return ticket
      ? await redeemSocketTicket(c.get("ctx"), ticket)
      : await authenticateAtEdge(c.get("ctx"), token ?? "");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const code = error.code === "user_blocked" ? CLOSE_CODES.forbidden : CLOSE_CODES.unauthorized;
    return refuse(c, code, error.code);
  }
}

/** The upgrade as the object receives it: the caller's identity in headers only the Worker sets. */
export function forwarded(c: Context<AppEnv>, user: AuthUser, role: string): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set(IDENTITY_HEADERS.userId, user.id);
  headers.set(IDENTITY_HEADERS.role, role);
  headers.set(IDENTITY_HEADERS.sessionId, user.sessionId);
  return new Request(c.req.raw, { headers });
}

export function refuse(c: Context<AppEnv>, code: number, reason: string): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  server.close(code, reason);
  const protocol = c.req.header("sec-websocket-protocol")?.split(",")[0]?.trim();
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: protocol ? { "sec-websocket-protocol": protocol } : {},
  });
}
