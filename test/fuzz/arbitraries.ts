import fc from "fast-check";
import { type JsonSchema, resolve } from "../security/openapi";

/**
 * Values valid under a JSON Schema of the document (the subset zod-openapi emits: `$ref`, `type`
 * (also as a list), `enum`, `const`, `anyOf`/`oneOf`/`allOf`, string length, `pattern` and
 * `format`, number bounds, arrays, objects with `required`). A schema's `example` is drawn a
 * third of the time: realistic values reach the business rules instead of stopping at validation.
 * Valid for the schema is not valid for the route: zod may add rules the schema cannot say (a trim,
 * a refinement), so a valid draw may still be refused with a documented 400.
 */
export function schemaValue(
  doc: Record<string, any>,
  schema: JsonSchema | undefined,
  depth = 0,
): fc.Arbitrary<unknown> {
  const node = resolve(doc, schema);
  if (!node || depth > 8) return fc.constant(null);
  const drawn = fromSchema(doc, node, depth);
  if (node.example === undefined) return drawn;
  return fc.oneof({ arbitrary: fc.constant(node.example), weight: 1 }, { arbitrary: drawn, weight: 2 });
}

function fromSchema(doc: Record<string, any>, node: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (node.const !== undefined) return fc.constant(node.const);
  if (Array.isArray(node.enum)) return fc.constantFrom(...node.enum);
  const choices = node.anyOf ?? node.oneOf;
  if (Array.isArray(choices))
    return fc.oneof(...choices.map((s: JsonSchema) => schemaValue(doc, s, depth + 1)));
  if (Array.isArray(node.allOf)) return schemaValue(doc, mergeAllOf(doc, node), depth + 1);
  if (Array.isArray(node.type)) {
    return fc.oneof(...node.type.map((type: string) => fromSchema(doc, { ...node, type }, depth)));
  }
  switch (node.type) {
    case "string":
      return stringOf(node);
    case "integer":
      return fc.integer(bounds(node, true));
    case "number":
      return fc.double({ ...bounds(node, false), noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(schemaValue(doc, node.items, depth + 1), {
        minLength: node.minItems ?? 0,
        maxLength: Math.min(node.maxItems ?? 5, (node.minItems ?? 0) + 5),
      });
    default:
      return objectOf(doc, node, depth);
  }
}

function objectOf(doc: Record<string, any>, node: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const properties: Record<string, JsonSchema> = node.properties ?? {};
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, schema] of Object.entries(properties)) model[name] = schemaValue(doc, schema, depth + 1);
  return fc.record(model, { requiredKeys: (node.required ?? []).filter((k: string) => k in properties) });
}

function mergeAllOf(doc: Record<string, any>, node: JsonSchema): JsonSchema {
  const merged: JsonSchema = { type: "object", properties: {}, required: [] };
  for (const part of [node, ...node.allOf].map((s: JsonSchema) => resolve(doc, s) ?? {})) {
    const { allOf: _allOf, properties, required, ...rest } = part;
    Object.assign(merged, rest);
    Object.assign(merged.properties, properties);
    merged.required.push(...(required ?? []));
  }
  return merged;
}

function bounds(node: JsonSchema, integer: boolean): { min: number; max: number } {
  const step = integer ? 1 : Number.EPSILON;
  const min =
    node.minimum ??
    (node.exclusiveMinimum !== undefined ? node.exclusiveMinimum + (integer ? 1 : step) : -1_000_000);
  const max =
    node.maximum ??
    (node.exclusiveMaximum !== undefined ? node.exclusiveMaximum - (integer ? 1 : step) : 1_000_000);
  return { min, max };
}

function stringOf(node: JsonSchema): fc.Arbitrary<string> {
  const minLength = node.minLength ?? 0;
  const maxLength = node.maxLength ?? minLength + 40;
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
  if (node.pattern) return fc.stringMatching(new RegExp(node.pattern)).filter(fits);
  if (node.format === "email") return fc.emailAddress().filter(fits);
  if (node.format === "date-time") {
    return fc
      .date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (node.format === "uuid") return fc.uuid();
  const size = { minLength, maxLength: Math.min(maxLength, minLength + 40) };
  return fc.oneof(fc.string(size), fc.string({ ...size, unit: "grapheme" }));
}

/** Strings a hostile client sends where a string is expected. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\ud800",
    "💥🚗",
    "ação",
    "e\u0301",
    "\u202eRTL",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "null",
    "undefined",
  ),
  fc.integer({ min: 256, max: 20_000 }).map((n) => "x".repeat(n)),
);

/** Numbers a hostile client sends where a number is expected. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    -0,
    0.5,
    -0.000001,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    1e21,
    -1e21,
    1e308,
    -1e308,
    Number.MIN_VALUE,
  ),
  fc.integer({ min: -2_147_483_648, max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value of another kind than the schema's, for wrong-type mutations. */
export function wrongTypeFor(
  doc: Record<string, any>,
  schema: JsonSchema | undefined,
): fc.Arbitrary<unknown> {
  const node = resolve(doc, schema) ?? {};
  const types = new Set<string>(Array.isArray(node.type) ? node.type : [node.type ?? "object"]);
  const all: [string, fc.Arbitrary<unknown>][] = [
    ["string", hostileString],
    ["number", hostileNumber],
    ["integer", hostileNumber],
    ["boolean", fc.boolean()],
    ["null", fc.constant(null)],
    ["array", fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })],
    ["object", fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })],
  ];
  const other = all.filter(([type]) => !types.has(type) && !(type === "integer" && types.has("number")));
  return fc.oneof(...other.map(([, arbitrary]) => arbitrary));
}
