import { createRoute } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../../http/router";
import { setUserStatus } from "../../services/users/status";
import { IdParamSchema, UserSchema } from "../schemas";

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
  .openapi(statusRoute("block"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "blocked");
    return c.json(user, 200);
  })
  .openapi(statusRoute("unblock"), async (c) => {
    const user = await setUserStatus(c.get("ctx"), c.get("user"), c.req.valid("param").id, "active");
    return c.json(user, 200);
  });
