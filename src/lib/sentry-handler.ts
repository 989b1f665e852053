import * as Sentry from "@sentry/cloudflare";
import { sentryOptions } from "./sentry-options";

/** The Worker's entry points this project exports. */
export interface WorkerHandler {
  fetch: NonNullable<ExportedHandler<Env>["fetch"]>;
  queue: NonNullable<ExportedHandler<Env>["queue"]>;
  scheduled: NonNullable<ExportedHandler<Env>["scheduled"]>;
}

/**
 * The handler reported to Sentry when the deployment has a DSN, and left as it is when it has
 * none. `withSentry` instruments every binding an invocation touches even with no options: each
 * D1 statement gets its SQL sanitised and four wrapped methods, each Durable Object and queue call
 * a span and trace metadata. Without a DSN nothing is ever sent, so that work is skipped; it was
 * about a seventh of a ride request's server CPU under `wrangler dev` (docs/benchmarks.md, "sixth
 * pass"). The DSN is read per invocation because bindings only exist then.
 */
export function reportedWhenConfigured(handler: WorkerHandler): WorkerHandler {
  const reported = Sentry.withSentry((env: Env) => sentryOptions(env), { ...handler });
  const chosen = (env: Env): WorkerHandler => (env.SENTRY_DSN ? reported : handler);
  return {
    fetch: (request, env, ctx) => chosen(env).fetch(request, env, ctx),
    queue: (batch, env, ctx) => chosen(env).queue(batch, env, ctx),
    scheduled: (controller, env, ctx) => chosen(env).scheduled(controller, env, ctx),
  };
}
