import { randomToken, sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { edgeSessionUser } from "./authenticate";

/** How long a socket ticket can wait for its upgrade. */
export const SOCKET_TICKET_TTL_SECONDS = 30;

// Checked before a channel is named: a forged ticket names only what could be a user's channel.
const USER_ID = /^usr_[0-9A-Za-z]{1,64}$/;

/**
 * A socket ticket stands in for the access token in a WebSocket URL, which request logs record:
 * `<user id>.<secret>`, good for one upgrade within 30 s. The user's channel holds the secret's
 * hash (no D1 table, and the channel is the object that already serves that user's sockets); the
 * user id in front only says which channel to ask, and reveals nothing a log does not already show.
 */
export async function issueSocketTicket(
  ctx: ServiceContext,
  user: AuthUser,
): Promise<{ ticket: string; expires_at: string }> {
  const secret = randomToken(32);
  const expiresAt = ctx.now().getTime() + SOCKET_TICKET_TTL_SECONDS * 1000;
  await ctx.userChannel(user.id).issueTicket(await sha256Hex(secret), user.sessionId, expiresAt);
  return { ticket: `${user.id}.${secret}`, expires_at: new Date(expiresAt).toISOString() };
}

/**
 * Burns a ticket and answers its user, refused like an access token when the ticket is unknown,
 * used or expired, or its session ended (or the user was blocked) since it was issued.
 */
export async function redeemSocketTicket(ctx: ServiceContext, ticket: string): Promise<AuthUser> {
  const dot = ticket.indexOf(".");
  const userId = ticket.slice(0, dot);
  const secret = ticket.slice(dot + 1);
  if (!USER_ID.test(userId) || !secret) throw invalidTicket();
  const sessionId = await ctx.userChannel(userId).redeemTicket(await sha256Hex(secret), ctx.now().getTime());
  if (!sessionId) throw invalidTicket();
  return edgeSessionUser(ctx, userId, sessionId);
}

function invalidTicket(): ApiError {
  return new ApiError("invalid_token", "The socket ticket is unknown, used or expired; ask for a new one");
}
