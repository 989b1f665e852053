import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/**
 * Efí answers in four error shapes (see `ErrorBody`); each route uses the one Efí's docs show
 * for it. Handlers throw `EfiError` and the app's `onError` writes the body.
 */
export type ErrorBody =
  | { shape: "legacy"; nome: string; mensagem: string; erros?: SchemaError[] }
  | {
      shape: "bcb";
      type: string;
      title: string;
      detail: string;
      violacoes?: { razao: string; propriedade: string }[];
    }
  | { shape: "oauth"; error: string; error_description: string }
  | {
      shape: "cobrancas";
      code: number;
      error: string;
      error_description: string | { property: string; message: string };
    }
  | { shape: "control"; error: string; message: string };

export interface SchemaError {
  chave: string;
  caminho: string;
  mensagem: string;
}

export class EfiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super("message" in body ? body.message : "mensagem" in body ? body.mensagem : body.shape);
  }
}

export function errorResponse(c: Context, error: EfiError): Response {
  const { shape: _shape, ...body } = error.body;
  const payload = error.body.shape === "bcb" ? { ...body, status: error.status } : body;
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(payload, error.status);
}

/** `{nome, mensagem}`: cob, loc, webhook, received Pix, refunds and pixSend. */
export function legacy(status: ContentfulStatusCode, nome: string, mensagem: string, erros?: SchemaError[]) {
  return new EfiError(status, { shape: "legacy", nome, mensagem, ...(erros ? { erros } : {}) });
}

/** RFC 7807 as the BCB API writes it: `gn/pix/enviados` and generic 403/404. */
export function bcb(status: ContentfulStatusCode, tipo: string, title: string, detail: string) {
  return new EfiError(status, {
    shape: "bcb",
    type: `https://pix.bcb.gov.br/api/v2/error/${tipo}`,
    title,
    detail,
  });
}

export function oauth(status: ContentfulStatusCode, error: string, description: string) {
  const headers: Record<string, string> =
    status === 401
      ? { "www-authenticate": `Bearer error="${error}", error_description="${description}"` }
      : {};
  return new EfiError(status, { shape: "oauth", error, error_description: description }, headers);
}

export function cobrancas(
  status: ContentfulStatusCode,
  code: number,
  error: string,
  description: string | { property: string; message: string },
) {
  return new EfiError(status, { shape: "cobrancas", code, error, error_description: description });
}

/** The sandbox's own control API: plain `{error, message}`. */
export function control(status: ContentfulStatusCode, error: string, message: string) {
  return new EfiError(status, { shape: "control", error, message });
}

export const insufficientScope = () =>
  oauth(403, "insufficient_scope", "Access token has insufficient scope");

/** 400 json_invalido with one entry per schema violation, paths like `.body.valor.original`. */
export function jsonInvalido(erros: SchemaError[]) {
  return legacy(400, "json_invalido", "Valores ou tipos de campo inválidos", erros);
}

function caminho(root: string, path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    root,
  );
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Maps zod issues to the AJV-style entries Efí returns (`chave` is the JSON-schema keyword). */
export function schemaErrors(issues: z.core.$ZodIssue[], input: unknown, root = ".body"): SchemaError[] {
  return issues.map((issue) => {
    const path = issue.path as PropertyKey[];
    const at = caminho(root, path);
    switch (issue.code) {
      case "invalid_type": {
        if (valueAt(input, path) === undefined && path.length > 0) {
          const parent = caminho(root, path.slice(0, -1));
          return {
            chave: "required",
            caminho: parent,
            mensagem: `deve ter a propriedade obrigatória ${String(path.at(-1))}`,
          };
        }
        return { chave: "type", caminho: at, mensagem: `deve ser ${issue.expected}` };
      }
      case "invalid_format":
        return {
          chave: "pattern",
          caminho: at,
          mensagem: `deve corresponder ao padrão "${"pattern" in issue ? issue.pattern : issue.format}"`,
        };
      case "too_big":
        return issue.origin === "string"
          ? { chave: "maxLength", caminho: at, mensagem: `não deve ter mais que ${issue.maximum} caracteres` }
          : issue.origin === "array"
            ? { chave: "maxItems", caminho: at, mensagem: `não deve ter mais que ${issue.maximum} itens` }
            : { chave: "maximum", caminho: at, mensagem: `deve ser <= ${issue.maximum}` };
      case "too_small":
        return issue.origin === "string"
          ? {
              chave: "minLength",
              caminho: at,
              mensagem: `não deve ter menos que ${issue.minimum} caracteres`,
            }
          : issue.origin === "array"
            ? { chave: "minItems", caminho: at, mensagem: `não deve ter menos que ${issue.minimum} itens` }
            : { chave: "minimum", caminho: at, mensagem: `deve ser >= ${issue.minimum}` };
      case "invalid_value":
        return { chave: "enum", caminho: at, mensagem: "deve ser igual a um dos valores predefinidos" };
      case "invalid_union":
        return { chave: "oneOf", caminho: at, mensagem: "deve corresponder exatamente a um schema em oneOf" };
      case "unrecognized_keys":
        return {
          chave: "additionalProperties",
          caminho: at,
          mensagem: "não são permitidas propriedades adicionais",
        };
      default:
        return { chave: issue.code, caminho: at, mensagem: issue.message };
    }
  });
}

/** Reads the JSON body; a body that is not JSON is a json_invalido like a schema violation. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw jsonInvalido([
      { chave: "json", caminho: ".body", mensagem: "o corpo da requisição não é um JSON válido" },
    ]);
  }
}

/** Parses the body with a schema, throwing Efí's json_invalido on violations. */
export async function parseBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const input = await readJson(c);
  const result = schema.safeParse(input);
  if (!result.success) throw jsonInvalido(schemaErrors(result.error.issues, input));
  return result.data;
}

/** A path parameter checked against its pattern (e.g. txid), as a json_invalido on `.params.x`. */
export function checkParam(name: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) {
    throw jsonInvalido([
      {
        chave: "pattern",
        caminho: `.params.${name}`,
        mensagem: `deve corresponder ao padrão "${pattern.source}"`,
      },
    ]);
  }
  return value;
}
