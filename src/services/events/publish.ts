import type { WireEvent } from "../../objects/protocol";
import type { ServiceContext } from "../context";

export interface DomainEvent {
  type: "payment.qr_generated" | "payment.confirmed" | "payment.failed" | "wallet.updated" | "payout.paid";
  rideId?: string;
  data: unknown;
}

/**
 * Fans an event that is not a ride transition out to the users it concerns (their UserChannel,
 * where it gets the channel's seq) and, for a ride's event, to the ride's sockets (seq 0: not
 * part of the ride's replayable log). Delivery failures are logged, never thrown: the change the
 * event reports is already durable.
 */
export async function publish(ctx: ServiceContext, event: DomainEvent, userIds: string[]): Promise<void> {
  const wire: WireEvent = {
    type: event.type,
    id: `evt_${crypto.randomUUID()}`,
    seq: 0,
    ...(event.rideId ? { ride_id: event.rideId } : {}),
    data: event.data,
    at: ctx.now().toISOString(),
  };
  const { USER_CHANNEL, RIDE_ROOM } = ctx.env;
  const deliveries: Promise<unknown>[] = userIds.map((userId) =>
    USER_CHANNEL.get(USER_CHANNEL.idFromName(userId)).deliver(userId, wire),
  );
  if (event.rideId) {
    deliveries.push(RIDE_ROOM.get(RIDE_ROOM.idFromName(event.rideId), { locationHint: "sam" }).relay(wire));
  }
  const results = await Promise.allSettled(deliveries);
  for (const result of results) {
    if (result.status === "rejected") {
      ctx.log.warn("event delivery failed", { type: event.type, error: String(result.reason) });
    }
  }
}
