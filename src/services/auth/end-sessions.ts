import { and, eq, notInArray, or } from "drizzle-orm";
import { rides } from "../../db/schema";
import type { ServiceContext } from "../context";
import type { SocketsEnd } from "./user-channel";

const ENDED_RIDE_STATUSES = ["completed", "cancelled", "expired"] as const;

/**
 * Closes a user's open sockets: their `/v1/ws` channel and the sockets of every ride they are
 * the passenger or driver of that has not ended (a socket on an ended ride carries no offers or
 * positions). Awaited by the caller, so the sockets are closed when the request answers;
 * a failure is logged, never thrown, because the session itself is already revoked in D1 and
 * every later upgrade is refused.
 */
export async function closeUserSockets(ctx: ServiceContext, userId: string, end: SocketsEnd): Promise<void> {
  const open = await ctx.db
    .select({ id: rides.id })
    .from(rides)
    .where(
      and(
        or(eq(rides.passengerId, userId), eq(rides.driverId, userId)),
        notInArray(rides.status, [...ENDED_RIDE_STATUSES]),
      ),
    )
    .all();
  const results = await Promise.allSettled([
    ctx.userChannel(userId).closeSockets(userId, end),
    ...open.map(({ id }) => ctx.rideRoom(id).closeSockets(userId, end)),
  ]);
  for (const result of results) {
    if (result.status === "rejected") {
      ctx.log.warn("closing a user's sockets failed", { user_id: userId, error: String(result.reason) });
    }
  }
}
