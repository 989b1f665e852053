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

export function userChannelOf(env: Env, userId: string) {
  return env.USER_CHANNEL.get(env.USER_CHANNEL.idFromName(userId));
}
