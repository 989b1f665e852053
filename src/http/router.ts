import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError, PROBLEMS, type ProblemCode } from "../lib/problem";
import type { AppEnv } from "./env";

/** Every sub-router comes from here, so bad input is answered the same way on every route. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((issue) => ({
          path: issue.path.map(String).join("."),
          message: issue.message,
        }));
        const first = errors[0];
        const detail = first
          ? `${first.path || "body"}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`
          : "The request is not valid";
        throw new ApiError("validation_failed", detail, { errors });
      }
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "/problems/validation_failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    retry_after: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Seconds until the refused action may succeed; also sent as Retry-After" }),
  })
  .openapi("Problem");

/** What any route can answer: a bug (500), or a deployment whose configuration is refused (503). */
const SERVER_PROBLEMS: ProblemCode[] = ["internal_error", "misconfigured"];

/**
 * OpenAPI error responses for the given codes, grouped by status. Each status's schema is the
 * shared `Problem` narrowed to the codes documented for it (`allOf` [Problem, { code: enum }]),
 * so the document, the typed client and the contract check all read the same list.
 */
export function problemResponses(...codes: ProblemCode[]) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set([...codes, ...SERVER_PROBLEMS])) {
    const status = PROBLEMS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: list.map((code) => `\`${code}\`: ${PROBLEMS[code].title}`).join("; "),
        content: {
          "application/problem+json": {
            schema: ProblemSchema.extend({ code: z.enum(list as [ProblemCode, ...ProblemCode[]]) }),
          },
        },
      },
    ]),
  );
}

/** The problem codes any JSON route can answer before its handler runs. */
export const BODY_PROBLEMS: ProblemCode[] = [
  "validation_failed",
  "malformed_json",
  "payload_too_large",
  "unsupported_media_type",
];

export const AUTH_PROBLEMS: ProblemCode[] = [
  "authentication_required",
  "invalid_token",
  "token_expired",
  "user_blocked",
];

/** The problems the `idempotent` middleware can answer with, for routes that use it. */
export const IDEMPOTENCY_PROBLEMS: ProblemCode[] = [
  "idempotency_key_required",
  "idempotency_key_reused",
  "idempotency_in_progress",
];

/** The documented `Idempotency-Key` request header of routes behind `idempotent`. */
export const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .openapi({ description: "Unique per operation; a retry with the same key replays the first 2xx reply" }),
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
