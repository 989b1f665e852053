import { call, type Reply } from "../helpers";
import type { RequestSpec } from "./routes.table";

/** Splits a table key, `POST /v1/rides/{id}/accept`, into its method and path template. */
export function splitKey(key: string): { method: string; path: string } {
  const at = key.indexOf(" ");
  return { method: key.slice(0, at), path: key.slice(at + 1) };
}

/** Sends the spec to the operation, `{id}` filled with `id`, signed with `token` when given. */
export function send(
  key: string,
  options: { id?: string; token?: string; spec?: RequestSpec; headers?: Record<string, string> },
): Promise<Reply> {
  const { method, path } = splitKey(key);
  const spec = options.spec ?? {};
  let url = path.replace("{id}", encodeURIComponent(options.id ?? ""));
  const query = new URLSearchParams(spec.query ?? {}).toString();
  if (query) url += `?${query}`;
  return call(method, url, {
    token: options.token,
    body: spec.body,
    headers: { ...spec.headers, ...options.headers },
  });
}
