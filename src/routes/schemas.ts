import { z } from "@hono/zod-openapi";
import { USER_ROLES, USER_STATUSES } from "../db/schema";

export const UserSchema = z
  .object({
    id: z.string().openapi({ example: "usr_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    role: z.enum(USER_ROLES),
    status: z.enum(USER_STATUSES),
    name: z.string(),
    email: z.string(),
    phone: z.string(),
    created_at: z.string(),
  })
  .openapi("User");

export const SessionSchema = z
  .object({
    user: UserSchema,
    access_token: z.string().openapi({ description: "JWT, sent as `Authorization: Bearer …`" }),
    refresh_token: z.string().openapi({ description: "Opaque; single use, rotated on refresh" }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ description: "Access-token lifetime in seconds" }),
  })
  .openapi("Session");

export const IdParamSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
