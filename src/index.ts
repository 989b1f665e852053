import * as Sentry from "@sentry/cloudflare";
import { createApp } from "./app";

const app = createApp();

export default Sentry.withSentry(
  (env: Env) => (env.SENTRY_DSN ? { dsn: env.SENTRY_DSN, environment: env.APP_ENV } : undefined),
  { fetch: app.fetch } satisfies ExportedHandler<Env>,
);
