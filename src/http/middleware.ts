import * as Sentry from "@sentry/cloudflare";
import type { MiddlewareHandler } from "hono";
import { createServiceContext } from "../composition";
import { createLogger } from "../lib/logger";
import { ApiError } from "../lib/problem";
import { answeringRoute } from "./answering-route";
import type { AppEnv } from "./env";

/**
 * Builds the request's service context and writes the one log line and the one metrics point
 * per request. Runs first, so errors and unknown routes are logged and carry a request id too.
 * The request id also tags the request's Sentry scope and trace span.
 */
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = Date.now();
  const requestId = crypto.randomUUID();
  c.set("requestId", requestId);
  Sentry.getIsolationScope().setTag("request_id", requestId);
  Sentry.getActiveSpan()?.setAttribute("request_id", requestId);
  let ctx: ReturnType<typeof createServiceContext> | undefined;
  try {
    ctx = createServiceContext(c.env, requestId);
    c.set("ctx", ctx);
    await next();
  } finally {
    // A WebSocket upgrade's headers are immutable; its id is in the log line only.
    if (c.res.status !== 101) c.res.headers.set("x-request-id", requestId);
    const route = c.res.status === 404 || c.res.status === 405 ? null : (answeringRoute(c)?.path ?? null);
    const durationMs = Date.now() - started;
    (ctx?.log ?? createLogger({ request_id: requestId })).info("request", {
      method: c.req.method,
      route,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: durationMs,
      user_id: c.get("user")?.id ?? null,
    });
    // Unmatched paths share one label, so a scanner cannot grow the set of route labels.
    ctx?.metrics.record({
      event: "request",
      route: route ?? "unmatched",
      method: c.req.method,
      status: c.res.status,
      colo: String((c.req.raw.cf as { colo?: unknown } | undefined)?.colo ?? "unknown"),
      durationMs,
    });
  }
};

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\s*(;|$)/i;

/**
 * Bodies on writes must be JSON. Parsing here, once, gives malformed JSON its own problem code;
 * Hono caches the parsed body, so the route's validator reads it without parsing again.
 */
export const jsonBodyGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!["POST", "PUT", "PATCH"].includes(c.req.method)) return next();
  const length = c.req.header("content-length");
  const hasBody = c.req.raw.body !== null && length !== "0";
  if (!hasBody) return next();
  if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    throw new ApiError("unsupported_media_type", "Send the body as application/json");
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError("malformed_json", "The body could not be parsed as JSON");
  }
  return next();
};
