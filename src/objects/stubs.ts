import type { DriverIndexPort } from "../services/drivers/index-port";
import type { RateFamily, RateLimiterPort } from "../services/requests/rate-limiter-port";

/**
 * The one place that names a Durable Object instance. Rides live near their riders: the room is
 * placed in South America (`locationHint: "sam"`), where D1's primary cannot be.
 */
export function rideRoomOf(env: Env, rideId: string) {
  return env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId), { locationHint: "sam" });
}

/** A rate-limit counter lives near the users it counts, like a ride's room. */
export function rateLimiterOf(env: Env, name: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name), { locationHint: "sam" });
}

/**
 * The counter of a limit: a family counted per user (`*_user`, the subject a user id) lives in
 * that user's channel, any other (an IP, an account and IP pair) in a `RateLimiter` of its own.
 */
export function limitOf(env: Env, family: RateFamily, subject: string): RateLimiterPort {
  if (!family.endsWith("_user")) return rateLimiterOf(env, `${family}:${subject}`);
  const channel = userChannelOf(env, subject);
  return {
    hit: (rule, nowMs) => channel.hitLimit(family, rule, nowMs),
    reset: () => channel.resetLimit(family),
  };
}

/** A user's channel is near the user too: hot routes authenticate against it on every request. */
export function userChannelOf(env: Env, userId: string) {
  return env.USER_CHANNEL.get(env.USER_CHANNEL.idFromName(userId), { locationHint: "sam" });
}

/**
 * An area's driver index lives near its drivers, like a ride's room (`areaOf` names the area).
 * Each call names the area: an index whose storage is gone rebuilds itself from it.
 */
export function driverIndexOf(env: Env, area: string): DriverIndexPort {
  const stub = env.DRIVER_INDEX.get(env.DRIVER_INDEX.idFromName(area), { locationHint: "sam" });
  return {
    online: (driver) => stub.online(area, driver),
    offline: (driverId) => stub.offline(area, driverId),
    ping: (driverId, location, at) => stub.ping(area, driverId, location, at),
    locate: (driverId) => stub.locate(area, driverId),
    nearest: (query) => stub.nearest(area, query),
    rideTaken: (driverId, rideId) => stub.rideTaken(area, driverId, rideId),
    rideEnded: (driverId, rideId, idleSince) => stub.rideEnded(area, driverId, rideId, idleSince),
    offersOpened: (rideId, driverIds, until) => stub.offersOpened(area, rideId, driverIds, until),
    offersClosed: (rideId, driverIds) => stub.offersClosed(area, rideId, driverIds),
    vehicle: (driverId, category) => stub.vehicle(area, driverId, category),
  };
}
