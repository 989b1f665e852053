import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * The route that answered the request, read after `next()` returns. Every route matching the URL
 * is in `matchedRoutes` (both `/v1/rides/available` and `/v1/rides/:id`), so the answer is the
 * last one Hono dispatched (`routeIndex`); when that was app-wide middleware (`ALL`, e.g. the
 * body limit refusing a request), the reply stands for the route it was headed to, the next one.
 */
export function answeringRoute(c: Context): { method: string; path: string } | undefined {
  return matchedRoutes(c)
    .slice(c.req.routeIndex)
    .find((matched) => matched.method !== "ALL");
}
