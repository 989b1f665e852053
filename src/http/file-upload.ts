import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";

/**
 * Routes whose body is a file, not JSON: they set their own size limit and check the file's type
 * themselves, so the /v1 JSON guard and its 64 KiB limit do not apply to them.
 */
const FILE_UPLOADS: { method: string; path: RegExp }[] = [
  { method: "PUT", path: /^\/v1\/drivers\/me\/documents\/[^/]+$/ },
];

export function isFileUpload(c: Context<AppEnv>): boolean {
  return FILE_UPLOADS.some((route) => route.method === c.req.method && route.path.test(c.req.path));
}

/** Runs `middleware` on every request but file uploads. */
export function exceptFileUploads(middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (isFileUpload(c) ? next() : middleware(c, next));
}
