import fc from "fast-check";
import { BASE } from "../helpers";
import { type DocOperation, type JsonSchema, resolve } from "../security/openapi";
import { hostileNumber, hostileString, schemaValue, wrongTypeFor } from "./arbitraries";

/** One request of the fuzz suite, as data: printable in a counterexample, sent by `toRequest`. */
export interface FuzzRequest {
  path: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  body?: { json: unknown } | { text: string; contentType?: string };
  /** What was done to a valid request, if anything. */
  mutation?: string;
}

/** Arbitraries that replace the schema's for a parameter, e.g. the id of a real resource. */
export type Overrides = Partial<Record<"path" | "query" | "header", Record<string, fc.Arbitrary<string>>>>;

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

export function parametersOf(doc: Record<string, any>, operation: DocOperation): Parameter[] {
  return (operation.op.parameters ?? []).map((p: JsonSchema) => resolve(doc, p) as Parameter);
}

export function bodySchemaOf(doc: Record<string, any>, operation: DocOperation): JsonSchema | undefined {
  const body = resolve(doc, operation.op.requestBody);
  return body?.content?.["application/json"]?.schema;
}

/** A header value a fetch client can send: visible ASCII and inner spaces, within the schema's length. */
function headerValueOf(schema: JsonSchema | undefined): fc.Arbitrary<string> {
  const minLength = Math.max(schema?.minLength ?? 1, 1);
  const maxLength = Math.min(schema?.maxLength ?? 64, 64);
  const unit = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
  return fc.string({ unit, minLength, maxLength }).filter((s) => s.trim() === s && s.length >= minLength);
}

/**
 * A path segment of `.` or `..` is resolved away by every URL parser before the request leaves
 * the client, so it addresses another path, not this operation: never drawn.
 */
const addressable = (segment: string) => segment !== "." && segment !== "..";

const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** Requests valid under the operation's documented parameters and body. */
export function validRequest(
  doc: Record<string, any>,
  operation: DocOperation,
  overrides: Overrides = {},
): fc.Arbitrary<FuzzRequest> {
  const parameters = parametersOf(doc, operation);
  const pick = (p: Parameter, drawn: fc.Arbitrary<string>) => {
    const override = overrides[p.in as keyof Overrides]?.[p.name];
    return override ? fc.oneof(override, drawn) : drawn;
  };
  const path: Record<string, fc.Arbitrary<string>> = {};
  const query: fc.Arbitrary<[string, string] | null>[] = [];
  const headers: Record<string, fc.Arbitrary<string>> = {};
  for (const p of parameters) {
    if (p.in === "path") path[p.name] = pick(p, schemaValue(doc, p.schema).map(text).filter(addressable));
    if (p.in === "query") {
      const value = pick(p, schemaValue(doc, p.schema).map(text)).map((v): [string, string] => [p.name, v]);
      query.push(p.required ? value : fc.option(value, { nil: null }));
    }
    if (p.in === "header") headers[p.name] = pick(p, headerValueOf(p.schema));
  }
  const schema = bodySchemaOf(doc, operation);
  const required = Boolean(resolve(doc, operation.op.requestBody)?.required);
  const json = schema ? schemaValue(doc, schema).map((value) => ({ json: value })) : fc.constant(undefined);
  const body = schema && !required ? fc.option(json, { nil: undefined }) : json;
  return fc
    .record({
      path: fc.record(path),
      query: fc.tuple(...query),
      headers: fc.record(headers, {
        requiredKeys: parameters.filter((p) => p.in === "header" && p.required).map((p) => p.name),
      }),
      body,
    })
    .map(({ path: p, query: q, headers: h, body: b }) => ({
      path: p,
      query: q.filter((pair): pair is [string, string] => pair !== null),
      headers: h as Record<string, string>,
      ...(b ? { body: b } : {}),
    }));
}

type Mutation = fc.Arbitrary<(request: FuzzRequest) => FuzzRequest>;

const mutate = (name: string, change: (r: FuzzRequest) => Partial<FuzzRequest>) => (r: FuzzRequest) => ({
  ...r,
  ...change(r),
  mutation: name,
});

const BAD_JSON = [
  "{",
  '{"a":',
  "{'single': 'quotes'}",
  "[1, 2,]",
  '{"a": 1} trailing',
  "NaN",
  "undefined",
  "\u0000",
  '{"a": "\\x00"}',
  '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
];

const WRONG_CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/jsonp",
  "json",
];

/**
 * Mutations of a valid request: wrong types, hostile strings and numbers, missing required and
 * extra fields in the body and the query, a body of another kind, bad JSON text, a wrong
 * content type, a body over the size limit, hostile path ids and header values.
 */
export function mutations(doc: Record<string, any>, operation: DocOperation): Mutation {
  const list: Mutation[] = [];
  const schema = resolve(doc, bodySchemaOf(doc, operation));
  const hasBody = operation.method !== "GET" && operation.method !== "HEAD";
  const properties: Record<string, JsonSchema> = schema?.properties ?? {};
  const names = Object.keys(properties);
  const asObject = (r: FuzzRequest): Record<string, unknown> => {
    const json = r.body && "json" in r.body ? r.body.json : undefined;
    return json && typeof json === "object" && !Array.isArray(json) ? { ...(json as object) } : {};
  };

  if (names.length > 0) {
    const field = fc.constantFrom(...names);
    list.push(
      field.chain((name) =>
        wrongTypeFor(doc, properties[name]).map((value) =>
          mutate(`body.${name}: wrong type`, (r) => ({ body: { json: { ...asObject(r), [name]: value } } })),
        ),
      ),
      fc.tuple(field, fc.oneof(hostileString, hostileNumber)).map(([name, value]) =>
        mutate(`body.${name}: hostile value`, (r) => ({
          body: { json: { ...asObject(r), [name]: value } },
        })),
      ),
    );
    for (const [name, property] of Object.entries(properties)) {
      const inner = resolve(doc, property)?.properties as Record<string, JsonSchema> | undefined;
      if (!inner) continue;
      list.push(
        fc.tuple(fc.constantFrom(...Object.keys(inner)), hostileNumber).map(([leaf, value]) =>
          mutate(`body.${name}.${leaf}: hostile number`, (r) => {
            const outer = asObject(r);
            const nested = outer[name] && typeof outer[name] === "object" ? outer[name] : {};
            return { body: { json: { ...outer, [name]: { ...(nested as object), [leaf]: value } } } };
          }),
        ),
      );
    }
  }
  const required: string[] = schema?.required ?? [];
  if (required.length > 0) {
    list.push(
      fc.constantFrom(...required).map((name) =>
        mutate(`body.${name}: missing`, (r) => {
          const { [name]: _dropped, ...rest } = asObject(r);
          return { body: { json: rest } };
        }),
      ),
    );
  }
  if (hasBody) {
    list.push(
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }))
        .map(([name, value]) =>
          mutate(`body: extra field ${JSON.stringify(name)}`, (r) => ({
            body: { json: { ...asObject(r), [name]: value } },
          })),
        ),
      fc
        .oneof(
          fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
          hostileString,
          hostileNumber,
          fc.constantFrom(null, true, false),
        )
        .map((value) => mutate("body: not an object", () => ({ body: { json: value } }))),
      fc
        .constantFrom(...BAD_JSON)
        .map((bad) =>
          mutate("body: bad JSON", () => ({ body: { text: bad, contentType: "application/json" } })),
        ),
      fc.constantFrom(...WRONG_CONTENT_TYPES).map((type) =>
        mutate(`body: content-type ${type}`, (r) => ({
          body: { text: JSON.stringify(asObject(r)), contentType: type },
        })),
      ),
      fc.integer({ min: 65 * 1024, max: 200 * 1024 }).map((size) =>
        mutate(`body: ${size} bytes`, () => ({
          body: { text: JSON.stringify({ padding: "x".repeat(size) }), contentType: "application/json" },
        })),
      ),
    );
  }

  const parameters = parametersOf(doc, operation);
  const query = parameters.filter((p) => p.in === "query");
  if (query.length > 0) {
    list.push(
      fc
        .tuple(fc.constantFrom(...query), fc.oneof(hostileString, hostileNumber.map(String)))
        .map(([p, value]) =>
          mutate(`query.${p.name}: hostile value`, (r) => ({
            query: [...r.query.filter(([k]) => k !== p.name), [p.name, value]],
          })),
        ),
      fc
        .constantFrom(...query)
        .map((p) =>
          mutate(`query.${p.name}: twice`, (r) => ({ query: [...r.query, [p.name, "1"], [p.name, "2"]] })),
        ),
    );
    const requiredQuery = query.filter((p) => p.required);
    if (requiredQuery.length > 0) {
      list.push(
        fc
          .constantFrom(...requiredQuery)
          .map((p) =>
            mutate(`query.${p.name}: missing`, (r) => ({ query: r.query.filter(([k]) => k !== p.name) })),
          ),
      );
    }
  }
  list.push(
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 12 }), hostileString)
      .map(([name, value]) =>
        mutate(`query: extra ${JSON.stringify(name)}`, (r) => ({ query: [...r.query, [name, value]] })),
      ),
  );
  for (const p of parameters.filter((x) => x.in === "path")) {
    list.push(
      hostileString
        .filter(addressable)
        .map((value) =>
          mutate(`path.${p.name}: hostile value`, (r) => ({ path: { ...r.path, [p.name]: value } })),
        ),
    );
  }
  for (const p of parameters.filter((x) => x.in === "header")) {
    const latin1 = fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c));
    list.push(
      fc.constant(
        mutate(`header ${p.name}: missing`, (r) => {
          const { [p.name]: _dropped, ...rest } = r.headers;
          return { headers: rest };
        }),
      ),
      fc
        .oneof(
          fc.string({ unit: latin1, maxLength: 40 }),
          fc.integer({ min: 256, max: 8000 }).map((n) => "k".repeat(n)),
        )
        .map((value) =>
          mutate(`header ${p.name}: hostile value`, (r) => ({ headers: { ...r.headers, [p.name]: value } })),
        ),
    );
  }
  return fc.oneof(...list);
}

export function mutatedRequest(doc: Record<string, any>, operation: DocOperation, overrides: Overrides = {}) {
  return fc
    .tuple(validRequest(doc, operation, overrides), mutations(doc, operation))
    .map(([request, change]) => change(request));
}

/** Lone surrogates become U+FFFD, as a client's UTF-8 encoder (and URLSearchParams) would make them. */
const wellFormed = (value: string) => new TextDecoder().decode(new TextEncoder().encode(value));

/** The request as fetch sends it. Header values are trimmed as any HTTP client would. */
export function toRequest(operation: DocOperation, request: FuzzRequest, token?: string): Request {
  const url = new URL(
    BASE +
      operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
        encodeURIComponent(wellFormed(request.path[name] ?? "")),
      ),
  );
  for (const [name, value] of request.query) url.searchParams.append(name, value);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, value.trim());
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body: string | undefined;
  if (request.body && "json" in request.body) {
    body = JSON.stringify(request.body.json);
    headers.set("content-type", "application/json");
  } else if (request.body) {
    body = request.body.text;
    if (request.body.contentType) headers.set("content-type", request.body.contentType);
  }
  return new Request(url, { method: operation.method, headers, body });
}
