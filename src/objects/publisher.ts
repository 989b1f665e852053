import type { Logger } from "../lib/logger";
import type { Audience, OutgoingEvent, Publish, WireEvent } from "../services/events/wire";
import { notificationJobsFor } from "../services/notifications/rules";
import { rideRoomOf, userChannelOf } from "./stubs";

/**
 * The publish port's implementation: fans an event out to a ride's room and users' channels, and
 * queues one notification job per recipient when the event is in the notification rules. Only
 * the enqueue is awaited, never a push: the `notifications` queue's consumer sends those.
 */
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
    const jobs = notificationJobsFor(wire, users);
    // A queue takes at most 100 messages per sendBatch.
    for (let at = 0; at < jobs.length; at += 100) {
      const part = jobs.slice(at, at + 100).map((body) => ({ body, contentType: "json" as const }));
      deliveries.push(env.NOTIFICATIONS_QUEUE.sendBatch(part));
    }
    const results = await Promise.allSettled(deliveries);
    for (const result of results) {
      if (result.status === "rejected") {
        log.warn("event delivery failed", { type: wire.type, error: String(result.reason) });
      }
    }
  };
}
