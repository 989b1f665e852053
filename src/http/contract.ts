import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { createLogger } from "../lib/logger";
import { problemDocument, problemResponse } from "../lib/problem";
import { answeringRoute } from "./answering-route";
import type { AppEnv } from "./env";

/** For one operation, each documented status and its problem codes (null: not a problem reply). */
export interface OperationContract {
  /** The operation as the document names it, e.g. `POST /v1/rides/{id}/accept`. */
  name: string;
  statuses: ReadonlyMap<number, ReadonlySet<string> | null>;
}

/** Operations keyed the way Hono names a matched route: `POST /v1/rides/:id/accept`. */
export type Contract = ReadonlyMap<string, OperationContract>;

/** What the check needs to know of a reply: its status, and its `code` when it is a problem. */
export interface ReplySummary {
  status: number;
  code?: string;
}

type Json = Record<string, unknown>;
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PROBLEM_TYPE = "application/problem+json";

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null;

/** Reads the documented statuses and problem codes of every operation of an OpenAPI document. */
export function contractOf(document: object): Contract {
  const contract = new Map<string, OperationContract>();
  const paths = (document as { paths?: unknown }).paths;
  if (!isObject(paths)) return contract;
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const honoPath = path.replace(/\{([^}]+)\}/g, ":$1");
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!isObject(operation) || !isObject(operation.responses)) continue;
      const statuses = new Map<number, ReadonlySet<string> | null>();
      for (const [status, response] of Object.entries(operation.responses)) {
        if (/^\d{3}$/.test(status)) statuses.set(Number(status), problemCodesOf(response));
      }
      const verb = method.toUpperCase();
      contract.set(`${verb} ${honoPath}`, { name: `${verb} ${path}`, statuses });
    }
  }
  return contract;
}

/**
 * The codes a problem response documents: the `code` enum that narrows the shared `Problem`
 * schema (its own or in an `allOf` member). A `$ref` alone lists every code there is, so it
 * documents none in particular.
 */
function problemCodesOf(response: unknown): ReadonlySet<string> | null {
  if (!isObject(response) || !isObject(response.content)) return null;
  const media = response.content[PROBLEM_TYPE];
  if (!isObject(media)) return null;
  const codes = new Set<string>();
  const visit = (schema: unknown) => {
    if (!isObject(schema)) return;
    const code = isObject(schema.properties) ? schema.properties.code : undefined;
    if (isObject(code) && Array.isArray(code.enum)) for (const value of code.enum) codes.add(String(value));
    if (isObject(code) && typeof code.const === "string") codes.add(code.const);
    if (Array.isArray(schema.allOf)) for (const member of schema.allOf) visit(member);
  };
  visit(media.schema);
  return codes;
}

/**
 * Why a reply breaks the operation's documented contract, or undefined when it keeps it (or the
 * route is not an operation of the document, e.g. a WebSocket route).
 */
export function contractViolation(
  contract: Contract,
  route: { method: string; path: string },
  reply: ReplySummary,
): string | undefined {
  const operation = contract.get(`${route.method.toUpperCase()} ${route.path}`);
  if (!operation) return undefined;
  const answered = `${operation.name} answered ${reply.status}${reply.code ? ` ${reply.code}` : ""}`;
  if (!operation.statuses.has(reply.status)) {
    return `${answered}, but its OpenAPI responses do not document status ${reply.status}`;
  }
  const codes = operation.statuses.get(reply.status);
  if (!codes) return undefined;
  if (reply.code === undefined)
    return `${answered}, but status ${reply.status} is documented as a problem document`;
  if (!codes.has(reply.code)) {
    return `${answered}, but its OpenAPI responses document only ${[...codes].join(", ")} for ${reply.status}`;
  }
  return undefined;
}

/**
 * Test-only guard that every reply of an OpenAPI route is one its document promises: an
 * undocumented status, or a problem `code` not documented for that status, becomes a 500 naming
 * the route, so any test that provokes it fails loudly. Mount it right after the request context:
 * `onError` and `notFound` have already turned errors into problem documents by the time `next()`
 * returns, so it sees the final reply, and the request log records the 500 it may substitute.
 *
 * Exempt: every environment but `test` (production pays one comparison), 101 WebSocket upgrades
 * (immutable headers), and anything that is not an operation of the document: unmatched paths
 * (404/405), `/openapi.json`, `/docs` and the socket routes.
 */
export function contractCheck(app: OpenAPIHono<AppEnv>): MiddlewareHandler<AppEnv> {
  let contract: Contract | undefined;
  return async (c, next) => {
    if (c.env?.APP_ENV !== "test") return next();
    await next();
    if (c.res.status === 101) return;
    // Built once, on the first checked request: every route is registered by then.
    contract ??= contractOf(app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "", version: "" } }));
    const route = operationRoute(c, contract);
    if (!route) return;
    const violation = contractViolation(contract, route, await summarize(c.res));
    if (!violation) return;
    const requestId = c.get("requestId");
    (c.get("ctx")?.log ?? createLogger({ request_id: requestId })).error("contract violation", {
      detail: violation,
    });
    c.res = undefined; // a fresh reply: none of the broken reply's headers carry over
    c.res = problemResponse(
      problemDocument("internal_error", `Contract violation: ${violation}`, { requestId }),
    );
  };
}

function operationRoute(c: Context<AppEnv>, contract: Contract) {
  const route = answeringRoute(c);
  return route && contract.has(`${route.method} ${route.path}`) ? route : undefined;
}

async function summarize(res: Response): Promise<ReplySummary> {
  if (!res.headers.get("content-type")?.startsWith(PROBLEM_TYPE)) return { status: res.status };
  const body: unknown = await res
    .clone()
    .json()
    .catch(() => undefined);
  const code = isObject(body) && typeof body.code === "string" ? body.code : "(no code)";
  return { status: res.status, code };
}
