import type { Logger } from "../lib/logger";
import type { Audience, OutgoingEvent, Publish, WireEvent } from "../services/events/wire";
import { rideRoomOf, userChannelOf } from "./stubs";

/** The publish port's implementation: fans an event out to a ride's room and users' channels. */
export function createPublisher(env: Env, log: Logger, now: () => Date): Publish {
  return async (event: OutgoingEvent, audience: Audience) => {
    const rideId = event.ride_id ?? audience.ride ?? undefined;
    const wire: WireEvent = {
      type: event.type,
      id: event.id ?? `evt_${crypto.randomUUID()}`,
      seq: event.seq ?? 0,
      ...(rideId ? { ride_id: rideId } : {}),
      data: event.data,
      at: event.at ?? now().toISOString(),
    };
    const users = [...new Set(audience.users ?? [])].filter((id): id is string => !!id);
    const deliveries: Promise<unknown>[] = users.map((userId) =>
      userChannelOf(env, userId).deliver(userId, wire),
    );
    if (audience.ride) deliveries.push(rideRoomOf(env, audience.ride).relay(wire));
    const results = await Promise.allSettled(deliveries);
    for (const result of results) {
      if (result.status === "rejected") {
        log.warn("event delivery failed", { type: wire.type, error: String(result.reason) });
      }
    }
  };
}
