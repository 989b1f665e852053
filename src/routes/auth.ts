import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth } from "../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { isValidCpf, normalizeCpf } from "../lib/documents";
import * as auth from "../services/auth/accounts";
import { CURRENT_VERSIONS } from "../services/users/consents";
import { SessionSchema } from "./schemas";

// Trimmed before the format check (z.email() alone refuses surrounding spaces); the service
// lower-cases it, so "  Ana@X.com " and "ana@x.com" are the same account.
const Email = z
  .string()
  .trim()
  .pipe(z.email().max(254))
  .openapi({ type: "string", format: "email", maxLength: 254 });

const RegisterSchema = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: "Ana Souza" }),
    email: Email.openapi({ example: "ana@example.com" }),
    phone: z
      .string()
      .regex(/^\+55\d{10,11}$/, "use E.164 with country code 55, e.g. +5511987654321")
      .openapi({ example: "+5511987654321" }),
    password: z
      .string()
      .min(1)
      .max(128)
      .openapi({ description: `Needs ${auth.PASSWORD_RULE}`, example: "correct-horse-42" }),
    role: z.enum(["passenger", "driver"]),
    cpf: z
      .string()
      .refine(isValidCpf, "not a valid CPF")
      .transform(normalizeCpf)
      .optional()
      .openapi({ example: "529.982.247-25", description: "Stored encrypted; never returned" }),
    terms_version: z
      .literal(CURRENT_VERSIONS.terms)
      .optional()
      .openapi({ description: "The terms of use accepted; omitted means the current version" }),
    privacy_version: z
      .literal(CURRENT_VERSIONS.privacy)
      .optional()
      .openapi({ description: "The privacy policy accepted; omitted means the current version" }),
  })
  .openapi("RegisterRequest");

const LoginSchema = z.object({ email: Email, password: z.string().min(1).max(128) }).openapi("LoginRequest");

const RefreshSchema = z.object({ refresh_token: z.string().min(1).max(200) }).openapi("RefreshRequest");

const register = createRoute({
  method: "post",
  path: "/register",
  operationId: "register",
  tags: ["Auth"],
  summary: "Create a passenger or driver account",
  description:
    "Anyone; creates the account and signs it in. Admins are never self-registered; see `npm run admin:create`. Rate limited to 20 registrations an hour per client IP; past the limit answers 429 with Retry-After.",
  request: jsonBody(RegisterSchema),
  responses: {
    201: jsonContent(SessionSchema, "The account and its first session"),
    ...problemResponses(...BODY_PROBLEMS, "weak_password", "registration_conflict", "rate_limited"),
  },
});

const login = createRoute({
  method: "post",
  path: "/login",
  operationId: "login",
  tags: ["Auth"],
  summary: "Sign in with email and password",
  description:
    "Anyone; starts a new session. Rate limited per client IP (every attempt counts), and failures per account and client IP pair (a success clears the pair, and failures from one address never lock the account out from another); past a limit answers 429 with Retry-After.",
  request: jsonBody(LoginSchema),
  responses: {
    200: jsonContent(SessionSchema, "A new session"),
    ...problemResponses(...BODY_PROBLEMS, "invalid_credentials", "user_blocked", "rate_limited"),
  },
});

const refresh = createRoute({
  method: "post",
  path: "/refresh",
  operationId: "refreshSession",
  tags: ["Auth"],
  summary: "Rotate a refresh token",
  description:
    "Anyone holding a refresh token; answers a new access and refresh token. Each refresh token works once. Presenting one that was already used revokes every token of its session (reuse detection) and answers 401 `refresh_token_reused`.",
  request: jsonBody(RefreshSchema),
  responses: {
    200: jsonContent(SessionSchema, "A new access and refresh token"),
    ...problemResponses(...BODY_PROBLEMS, "refresh_token_invalid", "refresh_token_reused", "user_blocked"),
  },
});

const logout = createRoute({
  method: "post",
  path: "/logout",
  operationId: "logout",
  tags: ["Auth"],
  summary: "End the session the refresh token belongs to",
  description:
    "For the signed-in user; revokes the session, so its refresh token and its access tokens stop working at once.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: jsonBody(RefreshSchema),
  responses: {
    204: { description: "Signed out (also when the token was already revoked)" },
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS),
  },
});

export const authRoutes = createRouter()
  .openapi(register, async (c) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    const session = await auth.register(c.get("ctx"), { ...c.req.valid("json"), ip });
    return c.json(session, 201);
  })
  .openapi(login, async (c) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    const session = await auth.login(c.get("ctx"), { ...c.req.valid("json"), ip });
    return c.json(session, 200);
  })
  .openapi(refresh, async (c) => {
    const session = await auth.refresh(c.get("ctx"), c.req.valid("json").refresh_token);
    return c.json(session, 200);
  })
  .openapi(logout, async (c) => {
    await auth.logout(c.get("ctx"), c.get("user").id, c.req.valid("json").refresh_token);
    return c.body(null, 204);
  });
