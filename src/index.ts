import * as Sentry from "@sentry/cloudflare";
import { createApp } from "./app";
import { handleScheduled } from "./cron";
import { sentryOptions } from "./lib/sentry-options";
import { handleQueue } from "./queues";

export { RateLimiter } from "./objects/rate-limiter";
export { RideRoom } from "./objects/ride-room";
export { UserChannel } from "./objects/user-channel";

const app = createApp();

export default Sentry.withSentry((env: Env) => sentryOptions(env), {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>);
