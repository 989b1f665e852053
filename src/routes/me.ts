import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import * as auth from "../services/auth/accounts";
import { UserSchema } from "./schemas";

const me = createRoute({
  method: "get",
  path: "/",
  operationId: "getMe",
  tags: ["Me"],
  summary: "The signed-in user",
  description: "For any signed-in user, whatever the role; read only.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    200: jsonContent(UserSchema, "The user"),
    ...problemResponses(...AUTH_PROBLEMS),
  },
});

export const meRoutes = createRouter().openapi(me, async (c) => {
  const user = await auth.getUser(c.get("ctx"), c.get("user").id);
  return c.json(user, 200);
});
