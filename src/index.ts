import { createApp } from "./app";
import { handleScheduled } from "./cron";
import { withRoundTripHeader } from "./lib/d1-round-trip-header";
import { reportingObject } from "./lib/d1-round-trips";
import { reportedWhenConfigured } from "./lib/sentry-handler";
import { DriverIndex } from "./objects/driver-index";
import { RateLimiter } from "./objects/rate-limiter";
import { RideRoom } from "./objects/ride-room";
import { UserChannel } from "./objects/user-channel";
import { handleQueue } from "./queues";

export { DriverIndex, RateLimiter, RideRoom, UserChannel };

// Development only (D1_ROUND_TRIP_HEADER): each Durable Object reports its D1 round trips to the
// request that called it.
for (const objectClass of [DriverIndex, RateLimiter, RideRoom, UserChannel]) reportingObject(objectClass);

const app = createApp();

export default reportedWhenConfigured({
  fetch: withRoundTripHeader(app.fetch),
  queue: handleQueue,
  scheduled: handleScheduled,
}) satisfies ExportedHandler<Env>;
