import * as Sentry from "@sentry/cloudflare";
import { createApp } from "./app";
import { handleScheduled } from "./cron";
import { handleQueue } from "./queues";

export { RateLimiter } from "./objects/rate-limiter";
export { RideRoom } from "./objects/ride-room";
export { UserChannel } from "./objects/user-channel";

const app = createApp();

export default Sentry.withSentry(
  (env: Env) => (env.SENTRY_DSN ? { dsn: env.SENTRY_DSN, environment: env.APP_ENV } : undefined),
  { fetch: app.fetch, queue: handleQueue, scheduled: handleScheduled } satisfies ExportedHandler<Env>,
);
