import { createRoute, z } from "@hono/zod-openapi";
import { USER_ROLES, USER_STATUSES } from "../../db/schema";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import { searchUsers } from "../../services/users/search";
import { setUserStatus } from "../../services/users/status";
import { IdParamSchema, UserSchema } from "../schemas";

const searchRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "searchUsers",
  tags: ["Admin"],
  summary: "Find users by id, or by the start of their email, name or phone",
  description:
    "Staff with the `users:read` permission. Newest first, cursor-paginated; `role` and `status` narrow the list.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("users:read")] as const,
  request: {
    query: PageQuerySchema.extend({
      q: z.string().trim().min(1).max(100).optional().openapi({ example: "maria@" }),
      role: z.enum(USER_ROLES).optional(),
      status: z.enum(USER_STATUSES).optional(),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(UserSchema), next_cursor: z.string().nullable() }).openapi("UserPage"),
      "Matching users",
    ),
    ...problemResponses("validation_failed", ...AUTH_PROBLEMS, "forbidden"),
  },
});

const statusRoute = (action: "block" | "unblock") =>
  createRoute({
    method: "post",
    path: `/{id}/${action}`,
    operationId: action === "block" ? "blockUser" : "unblockUser",
    tags: ["Admin"],
    summary: action === "block" ? "Block a user; their tokens stop working at once" : "Unblock a user",
    description:
      action === "block"
        ? "Staff with the `users:block` permission. The user's status becomes `blocked` and every session of theirs is revoked. Audited."
        : "Staff with the `users:block` permission. The user's status becomes `active` again; they sign in anew. Audited.",
    security: [{ bearerAuth: [] }],
    middleware: [requireAuth, requirePermission("users:block")] as const,
    request: { params: IdParamSchema },
    responses: {
      200: jsonContent(UserSchema, "The user with the new status"),
      ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "not_found"),
    },
  });

export const adminUserRoutes = createRouter()
  .openapi(searchRoute, async (c) => c.json(await searchUsers(c.get("ctx"), c.req.valid("query")), 200))
  .openapi(statusRoute("block"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "blocked");
    return c.json(user, 200);
  })
  .openapi(statusRoute("unblock"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "active");
    return c.json(user, 200);
  });
