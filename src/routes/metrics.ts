import { createRouter } from "../http/router";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import { renderPrometheus } from "../lib/prometheus-text";
import { scrapeMetrics } from "../services/metrics/scrape";

/**
 * `GET /metrics`: Prometheus gauges read from D1 at scrape time, for the scraper only. It is not
 * an operation of the public API (not in /openapi.json, no user token): it takes its own bearer
 * token, `METRICS_TOKEN`, compared in constant time; with no token configured nobody may scrape.
 */
export const metricsRoutes = createRouter().get("/", async (c) => {
  const ctx = c.get("ctx");
  const expected = ctx.config.METRICS_TOKEN;
  const presented = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  if (!expected || !timingSafeEqual(presented, expected)) {
    throw new ApiError("authentication_required", "Send the metrics token as a bearer token", {
      headers: { "www-authenticate": 'Bearer realm="metrics"' },
    });
  }
  const metadata = ctx.env.CF_VERSION_METADATA;
  const families = await scrapeMetrics(ctx, { id: metadata?.id || "local", tag: metadata?.tag || "" });
  return c.body(renderPrometheus(families), 200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
    "cache-control": "no-store",
  });
});
