import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth } from "../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import { PageQuerySchema } from "../lib/pagination";
import { listNotifications, markRead } from "../services/notifications/inbox";
import { NOTIFICATION_KINDS } from "../services/notifications/kinds";
import { IdParamSchema } from "./schemas";

// The in-app inbox: every notification a user was sent (pushed or not), newest first.

const NotificationSchema = z
  .object({
    id: z.string().openapi({ example: "ntf_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    kind: z.enum(NOTIFICATION_KINDS),
    title: z.string(),
    body: z.string(),
    data: z
      .record(z.string(), z.string())
      .openapi({ description: "What the app needs to open the right screen: `ride_id`, `payment_id`, …" }),
    created_at: z.string(),
    read_at: z.string().nullable(),
  })
  .openapi("Notification");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listNotifications",
  tags: ["Notifications"],
  summary: "The caller's notifications, newest first",
  description: "Any signed-in user; only their own. Cursor-paginated: pass `next_cursor` as `cursor`.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(NotificationSchema), next_cursor: z.string().nullable() }),
      "A page of notifications",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "validation_failed"),
  },
});

const read = createRoute({
  method: "post",
  path: "/{id}/read",
  operationId: "markNotificationRead",
  tags: ["Notifications"],
  summary: "Mark a notification read",
  description:
    "Only the caller's own; anyone else's is `404 not_found`. Marking it again keeps the first `read_at`.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(NotificationSchema, "The notification, read"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "not_found"),
  },
});

export const notificationRoutes = createRouter()
  .openapi(list, async (c) =>
    c.json(await listNotifications(c.get("ctx"), c.get("user").id, c.req.valid("query")), 200),
  )
  .openapi(read, async (c) =>
    c.json(await markRead(c.get("ctx"), c.get("user").id, c.req.valid("param").id), 200),
  );
