import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { listAuditLogs } from "../../services/users/status";

const AuditLogSchema = z
  .object({
    id: z.string(),
    actor_id: z.string().nullable(),
    action: z.string(),
    target_type: z.string(),
    target_id: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    request_id: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("AuditLog");

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listAuditLogs",
  tags: ["Admin"],
  summary: "Who changed what, before and after; newest first",
  description:
    "Staff with the `audit:read` permission; read only. Every audited staff action, such as blocks, refunds and settlement changes.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("audit:read")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(AuditLogSchema), next_cursor: z.string().nullable() }),
      "A page of audit entries",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

export const auditLogRoutes = createRouter().openapi(list, async (c) => {
  return c.json(await listAuditLogs(c.get("ctx"), c.req.valid("query")), 200);
});
