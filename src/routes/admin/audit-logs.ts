import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { listAuditLogs } from "../../services/audit/list";

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
    reason: z.string().nullable().openapi({ description: "Why staff made the change, when given" }),
    created_at: z.string(),
  })
  .openapi("AuditLog");

const Instant = z.string().datetime({ offset: true, message: "must be an ISO 8601 date-time" });

const AuditQuerySchema = PageQuerySchema.extend({
  actor_id: z.string().min(1).max(64).optional().openapi({ description: "Entries made by this user" }),
  target_type: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description: "Entries about this kind of entity, e.g. `pricing_rule`, `user`" }),
  target_id: z.string().min(1).max(64).optional().openapi({ description: "Entries about this entity" }),
  from: Instant.optional().openapi({ description: "Entries created at or after this time" }),
  to: Instant.optional().openapi({ description: "Entries created before this time" }),
}).superRefine((query, issue) => {
  if (query.from && query.to && Date.parse(query.to) <= Date.parse(query.from)) {
    issue.addIssue({ code: "custom", path: ["to"], message: "must be after `from`" });
  }
});

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listAuditLogs",
  tags: ["Admin"],
  summary: "Who changed what, before and after; newest first",
  description:
    "Staff with the `audit:read` permission; read only. Every audited staff action, such as blocks, refunds, settlement, pricing, commission, city and surge changes, with the reason staff gave. Filter by actor, target (type and id) and time range. The log is append-only: the database refuses any update or deletion of an entry.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("audit:read")] as const,
  request: { query: AuditQuerySchema },
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
