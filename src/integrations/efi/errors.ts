// Efí answers errors in four shapes. The parser is picked by the keys present, as
// Efí's PHP SDK does, and every one becomes the same `EfiError`:
//   legacy     {nome, mensagem, erros?[{chave, caminho, mensagem}]}            cob, loc, webhook, pixSend, refunds
//   bcb        {type: ".../error/<Tipo>", title, status, detail, violacoes?}  gn/pix/enviados, generic 403/404
//   oauth      {error, error_description}                                     insufficient_scope (403)
//   cobrancas  {code: <int>, error, error_description: string | {property, message}}
// Anything else (an empty 401, an HTML 502 from a proxy) is kind "unknown" with a code from the status.

export type EfiErrorKind = "legacy" | "bcb" | "oauth" | "cobrancas" | "unknown";

/** One field-level problem Efí reported: where (`caminho`, `propriedade`, `property`) and why. */
export interface EfiViolation {
  path: string;
  message: string;
}

export interface EfiErrorInit {
  /** HTTP status of Efí's answer; 0 when no answer arrived (network error, timeout). */
  status: number;
  kind: EfiErrorKind;
  /** Efí's machine code: `txid_duplicado`, `AcessoNegado`, `insufficient_scope`, `validation_error`, … */
  code: string;
  message: string;
  violations?: EfiViolation[];
  /** Efí's `x-request-id`, for a support ticket. */
  requestId?: string;
  /** The Cobranças API's numeric code (e.g. 3500034), when there is one. */
  providerCode?: number;
  /** An earlier try of the same call got no definite answer (see `EfiReply.afterUncertainTry`). */
  afterUncertainTry?: boolean;
  cause?: unknown;
}

export class EfiError extends Error {
  readonly status: number;
  readonly kind: EfiErrorKind;
  readonly code: string;
  /** Efí's own words (`mensagem`, `detail`, `error_description`); `message` adds status and code. */
  readonly detail: string;
  readonly violations: EfiViolation[];
  readonly requestId: string | undefined;
  readonly providerCode: number | undefined;
  readonly afterUncertainTry: boolean;

  constructor(init: EfiErrorInit) {
    super(`Efí ${init.status || "request"} ${init.code}: ${init.message}`, { cause: init.cause });
    this.name = "EfiError";
    this.status = init.status;
    this.kind = init.kind;
    this.code = init.code;
    this.detail = init.message;
    this.violations = init.violations ?? [];
    this.requestId = init.requestId;
    this.providerCode = init.providerCode;
    this.afterUncertainTry = init.afterUncertainTry ?? false;
  }

  /**
   * Whether Efí may have applied the request although it failed: no answer at all (network error,
   * timeout) or a 5xx. A money-moving caller must then not assume "nothing happened"; it asks Efí
   * again by its own id (txid, idEnvio, refund id) or waits for the webhook. A 429 is a refusal
   * of that one try, so it is unknown too when an earlier try of the call was uncertain: the
   * earlier one may have been applied.
   */
  get outcomeUnknown(): boolean {
    return this.status === 0 || this.status >= 500 || (this.status === 429 && this.afterUncertainTry);
  }

  /** Whether the same request may succeed later: no answer, 429 or 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  /** Efí documents "not found" as 400 with a `*_nao_encontrada` name; BCB routes answer 404. */
  get notFound(): boolean {
    return this.status === 404 || /nao_?encontrad[oa]$/i.test(this.code);
  }
}

const STATUS_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  422: "unprocessable",
  429: "rate_limited",
};

function codeForStatus(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? "server_error" : `http_${status}`);
}

type Json = Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function violationsFrom(list: unknown, pathKey: string, messageKey: string): EfiViolation[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((item) => ({
    path: str(item[pathKey]) ?? str(item.chave) ?? "",
    message: str(item[messageKey]) ?? "",
  }));
}

/** Builds the one error from a status and Efí's parsed JSON body (or `undefined` for no/unparseable body). */
export function parseEfiError(
  status: number,
  body: unknown,
  requestId?: string,
  afterUncertainTry = false,
): EfiError {
  const base = { status, requestId, afterUncertainTry };
  if (isObject(body)) {
    if (typeof body.nome === "string") {
      return new EfiError({
        ...base,
        kind: "legacy",
        code: body.nome,
        message: str(body.mensagem) ?? body.nome,
        violations: violationsFrom(body.erros, "caminho", "mensagem"),
      });
    }
    if (
      typeof body.type === "string" &&
      (typeof body.title === "string" || typeof body.detail === "string")
    ) {
      const code = body.type.split("/").filter(Boolean).pop() ?? codeForStatus(status);
      return new EfiError({
        ...base,
        kind: "bcb",
        code,
        message: str(body.detail) ?? str(body.title) ?? code,
        violations: violationsFrom(body.violacoes, "propriedade", "razao"),
      });
    }
    if (typeof body.error === "string" && typeof body.code === "number") {
      const description = body.error_description;
      const violations = isObject(description)
        ? [{ path: str(description.property) ?? "", message: str(description.message) ?? "" }]
        : [];
      return new EfiError({
        ...base,
        kind: "cobrancas",
        code: body.error,
        providerCode: body.code,
        message: str(description) ?? violations[0]?.message ?? body.error,
        violations,
      });
    }
    if (typeof body.error === "string") {
      return new EfiError({
        ...base,
        kind: "oauth",
        code: body.error,
        message: str(body.error_description) ?? body.error,
      });
    }
  }
  const code = codeForStatus(status);
  return new EfiError({ ...base, kind: "unknown", code, message: `Efí answered HTTP ${status}` });
}

/** Like `parseEfiError`, from the raw body text, which may be empty or not JSON at all. */
export function parseEfiErrorText(status: number, text: string, requestId?: string): EfiError {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return parseEfiError(status, body, requestId);
}
