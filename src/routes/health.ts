import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createRouter, problemResponses } from "../http/router";

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    d1: z.enum(["ok", "unreachable"]),
  })
  .openapi("Health");

const health = createRoute({
  method: "get",
  path: "/",
  operationId: "getHealth",
  tags: ["Health"],
  summary: "Liveness and D1 reachability",
  description: "Anyone, without a token; read only. 503 when the database does not answer.",
  responses: {
    200: { content: { "application/json": { schema: HealthSchema } }, description: "All good" },
    503: { content: { "application/json": { schema: HealthSchema } }, description: "D1 unreachable" },
    ...problemResponses(),
  },
});

export const healthRoutes = createRouter().openapi(health, async (c) => {
  try {
    await c.get("ctx").db.run(sql`select 1`);
    return c.json({ status: "ok" as const, d1: "ok" as const }, 200);
  } catch (error) {
    c.get("ctx").log.error("health: D1 unreachable", { error: String(error) });
    return c.json({ status: "degraded" as const, d1: "unreachable" as const }, 503);
  }
});
