import { z } from "zod";
import { ApiError, type FieldError } from "../../lib/problem";
import { EFI_AMOUNT_PATTERN, efiToCents } from "./money.ts";

// Efí's Pix webhook body (`{"pix": [...]}`): its wire format is known here and nowhere
// else. `parseEfiNotification` validates every item of a notification (all or nothing) and turns
// it into our normalised items, amounts in centavos, with Efí's own item kept beside each.

// ---------------------------------------------------------------------------------------------
// Efí's wire format, parsed at the boundary

const amount = z
  .string()
  .regex(EFI_AMOUNT_PATTERN, 'must be an Efí amount such as "12.34"')
  .transform(efiToCents);
/** BCB's end-to-end ids are 32 alphanumerics; a little slack so a format change is not a 400 loop. */
const endToEndId = z.string().regex(/^[a-zA-Z0-9]{20,64}$/, "must be an end-to-end id");
const timestamp = z.string().refine((v) => !Number.isNaN(Date.parse(v)), "must be a date-time");
const text = (max: number) =>
  z
    .string()
    .nullish()
    .transform((v) => (v ? v.slice(0, max) : null));

const wireRefund = z.object({
  id: z.string().regex(/^[a-zA-Z0-9]{1,35}$/, "must be a refund id"),
  rtrId: z.string().min(1).max(64),
  valor: amount,
  horario: z.object({ solicitacao: timestamp.nullish(), liquidacao: timestamp.nullish() }).nullish(),
  status: z.enum(["EM_PROCESSAMENTO", "DEVOLVIDO", "NAO_REALIZADO"]),
  motivo: text(500),
});

/** A Pix received on our key (with `devolucoes` when it is a refund notification). */
const wireReceived = z.object({
  endToEndId,
  txid: z
    .string()
    .regex(/^[a-zA-Z0-9]{1,35}$/, "must be a txid")
    .nullish()
    .transform((v) => v ?? null),
  chave: z.string().min(1).max(77),
  valor: amount,
  horario: timestamp,
  infoPagador: text(140),
  devolucoes: z.array(wireRefund).max(100).optional(),
});

/** The outcome of a Pix we sent (a payout), told to the payer key's webhook. */
const wireSent = z.object({
  endToEndId,
  chave: z.string().min(1).max(77),
  tipo: z.string().optional(),
  status: z.enum(["EM_PROCESSAMENTO", "REALIZADO", "NAO_REALIZADO"]),
  valor: amount,
  horario: z
    .union([timestamp, z.object({ solicitacao: timestamp.nullish(), liquidacao: timestamp.nullish() })])
    .nullish(),
  gnExtras: z.object({
    idEnvio: z.string().regex(/^[a-zA-Z0-9]{1,35}$/, "must be an idEnvio"),
    erro: z
      .object({ codigo: text(16), origem: text(200), motivo: text(500) })
      .nullish()
      .transform((v) => v ?? null),
  }),
  devolucoes: z.array(wireRefund).max(100).optional(),
});

// ---------------------------------------------------------------------------------------------
// What we store: one normalised item per row (amounts in centavos), with Efí's item beside it

const StoredPixReceived = z.object({
  kind: z.literal("pix_received"),
  e2e_id: z.string(),
  txid: z.string().nullable(),
  amount_cents: z.number().int(),
  paid_at: z.string(),
  pix_key: z.string(),
});

const StoredRefund = z.object({
  kind: z.literal("refund"),
  e2e_id: z.string(),
  refund_id: z.string(),
  rtr_id: z.string(),
  amount_cents: z.number().int(),
  status: z.enum(["DEVOLVIDO", "NAO_REALIZADO"]),
  reason: z.string().nullable(),
  /** `received`: a refund we made of a Pix we received; `sent`: money that came back from a payout. */
  of: z.enum(["received", "sent"]),
  id_envio: z.string().nullable(),
});

const StoredPixSent = z.object({
  kind: z.literal("pix_sent"),
  e2e_id: z.string(),
  id_envio: z.string(),
  status: z.enum(["REALIZADO", "NAO_REALIZADO"]),
  amount_cents: z.number().int(),
  error: z.object({ code: z.string().nullable(), reason: z.string().nullable() }).nullable(),
});

export const StoredItem = z.discriminatedUnion("kind", [StoredPixReceived, StoredRefund, StoredPixSent]);
export type StoredItem = z.infer<typeof StoredItem>;
export type StoredPixReceived = z.infer<typeof StoredPixReceived>;
export type StoredRefund = z.infer<typeof StoredRefund>;
export type StoredPixSent = z.infer<typeof StoredPixSent>;

/** The row payload: the normalised item and, for a person reading it later, Efí's own item. */
export const StoredPayload = z.object({ item: StoredItem, efi: z.unknown() });

export interface ParsedRow {
  kind: StoredItem["kind"];
  endToEndId: string;
  subId: string;
  item: StoredItem;
  efi: unknown;
}

export type ParsedNotification = { probe: true } | { probe: false; rows: ParsedRow[]; ignored: number };

const MAX_ITEMS = 500;

/**
 * `{"pix": [ … ]}` → the rows to store. Every item is validated before anything is stored
 * (all or nothing): one bad item refuses the notification with 400 `webhook_malformed` and
 * field errors (`pix.0.valor`). An item that is a Pix send (it has `gnExtras.idEnvio`) is parsed
 * as one; any other as a received Pix. Not-final states (`EM_PROCESSAMENTO`) are ignored: Efí
 * notifies final outcomes, and storing one would block the final one (rows are unique).
 *
 * `{"evento": "teste_webhook", …}` (what Efí is reported to send when a URL is registered; the
 * reference marks its body unconfirmed) is a probe: answered 200, stores nothing.
 */
export function parseEfiNotification(bodyText: string): ParsedNotification {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw new ApiError("webhook_malformed", "The body is not JSON");
  }
  if (isObject(body) && !("pix" in body) && typeof body.evento === "string") return { probe: true };
  if (!isObject(body) || !Array.isArray(body.pix) || body.pix.length === 0 || body.pix.length > MAX_ITEMS) {
    throw new ApiError("webhook_malformed", `The body must be {"pix": [ 1 to ${MAX_ITEMS} items ]}`, {
      errors: [{ path: "pix", message: `must be an array of 1 to ${MAX_ITEMS} items` }],
    });
  }
  const errors: FieldError[] = [];
  const rows: ParsedRow[] = [];
  let ignored = 0;
  body.pix.forEach((raw, index) => {
    const sent = isObject(raw) && isObject(raw.gnExtras) && "idEnvio" in raw.gnExtras;
    const parsed = sent ? wireSent.safeParse(raw) : wireReceived.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        errors.push({ path: ["pix", index, ...issue.path].map(String).join("."), message: issue.message });
      }
      return;
    }
    const before = rows.length;
    if (sent) rowsOfSent(parsed.data as z.infer<typeof wireSent>, raw, rows);
    else rowsOfReceived(parsed.data as z.infer<typeof wireReceived>, raw, rows);
    if (rows.length === before) ignored += 1;
  });
  if (errors.length > 0) {
    const first = errors[0] as FieldError;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new ApiError("webhook_malformed", `${first.path}: ${first.message}${more}`, {
      errors: errors.slice(0, 50),
    });
  }
  return { probe: false, rows: uniqueRows(rows), ignored };
}

function rowsOfReceived(pix: z.infer<typeof wireReceived>, raw: unknown, rows: ParsedRow[]) {
  rows.push({
    kind: "pix_received",
    endToEndId: pix.endToEndId,
    subId: "",
    item: {
      kind: "pix_received",
      e2e_id: pix.endToEndId,
      txid: pix.txid,
      amount_cents: pix.valor,
      paid_at: pix.horario,
      pix_key: pix.chave,
    },
    efi: withoutRefunds(raw),
  });
  rowsOfRefunds(pix.endToEndId, pix.devolucoes, "received", null, rows);
}

function rowsOfSent(send: z.infer<typeof wireSent>, raw: unknown, rows: ParsedRow[]) {
  if (send.status !== "EM_PROCESSAMENTO") {
    const erro = send.gnExtras.erro;
    rows.push({
      kind: "pix_sent",
      endToEndId: send.endToEndId,
      subId: "",
      item: {
        kind: "pix_sent",
        e2e_id: send.endToEndId,
        id_envio: send.gnExtras.idEnvio,
        status: send.status,
        amount_cents: send.valor,
        error: erro ? { code: erro.codigo, reason: erro.motivo } : null,
      },
      efi: withoutRefunds(raw),
    });
  }
  rowsOfRefunds(send.endToEndId, send.devolucoes, "sent", send.gnExtras.idEnvio, rows);
}

function rowsOfRefunds(
  e2eId: string,
  refunds: z.infer<typeof wireRefund>[] | undefined,
  of: "received" | "sent",
  idEnvio: string | null,
  rows: ParsedRow[],
) {
  for (const refund of refunds ?? []) {
    if (refund.status === "EM_PROCESSAMENTO") continue;
    rows.push({
      kind: "refund",
      endToEndId: e2eId,
      subId: refund.id,
      item: {
        kind: "refund",
        e2e_id: e2eId,
        refund_id: refund.id,
        rtr_id: refund.rtrId,
        amount_cents: refund.valor,
        status: refund.status,
        reason: refund.motivo,
        of,
        id_envio: idEnvio,
      },
      efi: refund,
    });
  }
}

/** The same item twice in one body is stored once (the first). */
function uniqueRows(rows: ParsedRow[]): ParsedRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = `${row.endToEndId}|${row.kind}|${row.subId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Efí's item as kept beside ours: without `devolucoes` (each refund is its own row) and without
 * `gnExtras.pagador` (the payer's name and masked document: personal data we do not need).
 */
function withoutRefunds(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const { devolucoes: _refunds, ...rest } = raw;
  if (isObject(rest.gnExtras) && "pagador" in rest.gnExtras) {
    const { pagador: _payer, ...extras } = rest.gnExtras;
    return { ...rest, gnExtras: extras };
  }
  return rest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
