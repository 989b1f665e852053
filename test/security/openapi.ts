import { call } from "../helpers";

/** The parts of an OpenAPI 3.1 document these suites read; the rest is left untyped. */
export type JsonSchema = Record<string, any>;

export interface DocOperation {
  /** `METHOD /path`, the path as the document spells it (`/v1/rides/{id}`). */
  key: string;
  method: string;
  path: string;
  op: Record<string, any>;
}

let cached: Promise<Record<string, any>> | undefined;

/** The app's own `/openapi.json`, fetched once per test file. */
export function openapiDocument(): Promise<Record<string, any>> {
  cached ??= call("GET", "/openapi.json").then((reply) => {
    if (reply.status !== 200) throw new Error(`GET /openapi.json answered ${reply.status}`);
    return reply.json;
  });
  return cached;
}

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

export function operationsOf(doc: Record<string, any>): DocOperation[] {
  const list: DocOperation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) list.push({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op });
    }
  }
  return list;
}

export function operationOf(doc: Record<string, any>, key: string): DocOperation {
  const found = operationsOf(doc).find((o) => o.key === key);
  if (!found) throw new Error(`${key} is not in /openapi.json`);
  return found;
}

/** Follows a local `$ref` (`#/components/...`); other schemas come back as they are. */
export function resolve(doc: Record<string, any>, schema: JsonSchema | undefined): JsonSchema | undefined {
  let current = schema;
  for (let depth = 0; current?.$ref && depth < 20; depth += 1) {
    const ref = String(current.$ref);
    if (!ref.startsWith("#/")) throw new Error(`non-local $ref ${ref}`);
    current = ref
      .slice(2)
      .split("/")
      .reduce<any>((node, part) => node?.[part.replaceAll("~1", "/").replaceAll("~0", "~")], doc);
  }
  return current;
}

export function requiresAuth(op: Record<string, any>): boolean {
  return Array.isArray(op.security) && op.security.some((s: object) => Object.keys(s).length > 0);
}

export function documentedStatuses(op: Record<string, any>): number[] {
  return Object.keys(op.responses ?? {})
    .filter((s) => /^\d{3}$/.test(s))
    .map(Number);
}

/** Every status any operation of the document lists. */
export function statusesOfDocument(doc: Record<string, any>): Set<number> {
  return new Set(operationsOf(doc).flatMap((o) => documentedStatuses(o.op)));
}

/**
 * The problem codes an operation documents for a status. Read from, in order: an
 * `x-problem-codes` list on the response; a `code` enum narrowed below the shared Problem
 * schema's (every enum met through `allOf`/`$ref` is intersected); the backticked codes of the
 * response description (`` `not_found`: Not found; … ``). Undefined when none of them says.
 */
export function documentedCodes(
  doc: Record<string, any>,
  op: Record<string, any>,
  status: number,
): string[] | undefined {
  const response = resolve(doc, op.responses?.[String(status)]);
  if (!response) return undefined;
  const listed = response["x-problem-codes"];
  if (Array.isArray(listed)) return listed.map(String);
  const schema = response.content?.["application/problem+json"]?.schema;
  const narrowed = codeEnum(doc, schema);
  const all = codeEnum(doc, doc.components?.schemas?.Problem);
  if (narrowed && (!all || narrowed.length < all.length)) return narrowed;
  const described = [...String(response.description ?? "").matchAll(/`([a-z][a-z0-9_]*)`\s*:/g)].map(
    (m) => m[1] as string,
  );
  if (described.length > 0) return described;
  return narrowed;
}

function codeEnum(doc: Record<string, any>, schema: JsonSchema | undefined, depth = 0): string[] | undefined {
  const node = resolve(doc, schema);
  if (!node || depth > 10) return undefined;
  const sets: string[][] = [];
  const own = resolve(doc, node.properties?.code);
  if (Array.isArray(own?.enum)) sets.push(own.enum.map(String));
  if (own?.const !== undefined) sets.push([String(own.const)]);
  for (const part of node.allOf ?? []) {
    const inner = codeEnum(doc, part, depth + 1);
    if (inner) sets.push(inner);
  }
  const [first, ...rest] = sets;
  if (!first) return undefined;
  return first.filter((code) => rest.every((set) => set.includes(code)));
}
