import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { listAuditLogs, setUserStatus } from "../../services/users/status";
import { IdParamSchema, UserSchema } from "../schemas";

const statusRoute = (action: "block" | "unblock") =>
  createRoute({
    method: "post",
    path: `/v1/admin/users/{id}/${action}`,
    tags: ["Admin"],
    summary: action === "block" ? "Block a user; their tokens stop working at once" : "Unblock a user",
    security: [{ bearerAuth: [] }],
    middleware: [requireAuth, requirePermission("users:block")] as const,
    request: { params: IdParamSchema },
    responses: {
      200: jsonContent(UserSchema, "The user with the new status"),
      ...problemResponses(...AUTH_PROBLEMS, "forbidden", "not_found"),
    },
  });

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

const auditLogs = createRoute({
  method: "get",
  path: "/v1/admin/audit-logs",
  tags: ["Admin"],
  summary: "Who changed what, before and after; newest first",
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

export const adminUserRoutes = createRouter()
  .openapi(statusRoute("block"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "blocked");
    return c.json(user, 200);
  })
  .openapi(statusRoute("unblock"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "active");
    return c.json(user, 200);
  })
  .openapi(auditLogs, async (c) => {
    return c.json(await listAuditLogs(c.get("ctx"), c.req.valid("query")), 200);
  });
