// Efí's replies, parsed at the boundary with zod into our own shapes: amounts become integer
// centavos here (through `efiToCents`), ids and timestamps keep Efí's strings. Object schemas
// ignore keys they do not know, and are tolerant wherever Efí's documentation leaves a fact
// unconfirmed or contradicts itself (numbers that arrive as numeric strings, optional fields).

import { z } from "zod";
import { EFI_AMOUNT_PATTERN, efiToCents } from "./money.ts";

/** `"12.34"` on the wire, 1234 after parsing. */
const amount = z.string().regex(EFI_AMOUNT_PATTERN, "an Efí amount like 12.34").transform(efiToCents);

/** An integer that Efí sometimes prints as a string (`expires_in`, `calendario.expiracao` in GET examples). */
const intLike = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);

const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

// ---------------------------------------------------------------------------------------------
// OAuth

export interface EfiToken {
  accessToken: string;
  expiresInSeconds: number;
}

/** `POST /oauth/token` (Pix). `expires_in` defaults to Efí's documented 3600 when absent. */
export const pixTokenSchema = z
  .object({ access_token: z.string().min(1), expires_in: intLike.optional(), scope: z.string().optional() })
  .transform((t): EfiToken => ({ accessToken: t.access_token, expiresInSeconds: t.expires_in ?? 3600 }));

/** `POST /v1/authorize` (Cobranças), bare or wrapped in Cobranças' `{code, data}` envelope. */
export const cobrancasTokenSchema = z.preprocess(
  (body) =>
    typeof body === "object" && body !== null && !("access_token" in body) && "data" in body
      ? (body as { data: unknown }).data
      : body,
  z
    .object({ access_token: z.string().min(1), expires_in: intLike.optional() })
    .transform((t): EfiToken => ({ accessToken: t.access_token, expiresInSeconds: t.expires_in ?? 600 })),
);

// ---------------------------------------------------------------------------------------------
// Refunds (devoluções), also nested in received Pix

export type EfiRefundStatus = "EM_PROCESSAMENTO" | "DEVOLVIDO" | "NAO_REALIZADO";

export interface EfiRefund {
  /** Our refund id (the `:id` of `PUT /v2/pix/:e2eId/devolucao/:id`). */
  refundId: string;
  rtrId: string;
  amountCents: number;
  status: EfiRefundStatus;
  requestedAt: string;
  settledAt: string | null;
  /** Why it was not made (`NAO_REALIZADO`), e.g. "Negado por timeout". */
  reason: string | null;
}

export const refundSchema = z
  .object({
    id: z.string(),
    rtrId: z.string(),
    valor: amount,
    horario: z.object({ solicitacao: z.string(), liquidacao: optionalText }),
    status: z.enum(["EM_PROCESSAMENTO", "DEVOLVIDO", "NAO_REALIZADO"]),
    motivo: optionalText,
  })
  .transform(
    (r): EfiRefund => ({
      refundId: r.id,
      rtrId: r.rtrId,
      amountCents: r.valor,
      status: r.status,
      requestedAt: r.horario.solicitacao,
      settledAt: r.horario.liquidacao,
      reason: r.motivo,
    }),
  );

// ---------------------------------------------------------------------------------------------
// Immediate charges (cob)

export type EfiChargeStatus = "ATIVA" | "CONCLUIDA" | "REMOVIDA_PELO_USUARIO_RECEBEDOR" | "REMOVIDA_PELO_PSP";

/** A Pix received against a charge (`pix[]` on a paid cob). */
export interface EfiReceivedPix {
  e2eId: string;
  txid: string | null;
  amountCents: number;
  paidAt: string;
  refunds: EfiRefund[];
}

export interface EfiCharge {
  txid: string;
  revision: number;
  /** The record's status: an expired charge still reads `ATIVA` (BCB). */
  status: EfiChargeStatus;
  amountCents: number;
  /** The receiving key (`chave`). */
  pixKey: string;
  createdAt: string;
  expiresInSeconds: number;
  locId: number | null;
  /** Payload location, without scheme. */
  location: string | null;
  /** The BR Code ("copia e cola"); present on creation and reads. */
  pixCopiaECola: string | null;
  /** Pix received for this charge (empty until paid). */
  payments: EfiReceivedPix[];
}

const receivedPixSchema = z
  .object({
    endToEndId: z.string(),
    txid: optionalText,
    valor: amount,
    horario: z.string(),
    devolucoes: z.array(refundSchema).optional(),
  })
  .transform(
    (p): EfiReceivedPix => ({
      e2eId: p.endToEndId,
      txid: p.txid,
      amountCents: p.valor,
      paidAt: p.horario,
      refunds: p.devolucoes ?? [],
    }),
  );

export const chargeSchema = z
  .object({
    calendario: z.object({ criacao: z.string(), expiracao: intLike }),
    txid: z.string(),
    revisao: intLike.optional(),
    status: z.enum(["ATIVA", "CONCLUIDA", "REMOVIDA_PELO_USUARIO_RECEBEDOR", "REMOVIDA_PELO_PSP"]),
    valor: z.object({ original: amount }),
    chave: z.string(),
    loc: z.object({ id: intLike, location: z.string().optional() }).nullish(),
    location: z.string().optional(),
    pixCopiaECola: z.string().optional(),
    pix: z.array(receivedPixSchema).optional(),
  })
  .transform(
    (c): EfiCharge => ({
      txid: c.txid,
      revision: c.revisao ?? 0,
      status: c.status,
      amountCents: c.valor.original,
      pixKey: c.chave,
      createdAt: c.calendario.criacao,
      expiresInSeconds: c.calendario.expiracao,
      locId: c.loc?.id ?? null,
      location: c.location ?? c.loc?.location ?? null,
      pixCopiaECola: c.pixCopiaECola ?? null,
      payments: c.pix ?? [],
    }),
  );

// ---------------------------------------------------------------------------------------------
// QR code

export interface EfiQrCode {
  /** The BR Code string, identical to the charge's `pixCopiaECola`. */
  qrcode: string;
  /** A `data:image/...;base64,` URI (PNG in practice, SVG in the docs' example). */
  imageDataUri: string;
  /** Efí's responsive payment page, when given. */
  link: string | null;
}

export const qrCodeSchema = z
  .object({ qrcode: z.string().min(1), imagemQrcode: z.string().min(1), linkVisualizacao: optionalText })
  .transform(
    (q): EfiQrCode => ({ qrcode: q.qrcode, imageDataUri: q.imagemQrcode, link: q.linkVisualizacao }),
  );

// ---------------------------------------------------------------------------------------------
// Pix send (payouts)

export type EfiPixSendStatus = "EM_PROCESSAMENTO" | "REALIZADO" | "NAO_REALIZADO";

export interface EfiPixSend {
  idEnvio: string;
  e2eId: string;
  amountCents: number;
  status: EfiPixSendStatus;
  requestedAt: string | null;
  settledAt: string | null;
  /** The receiving key, when Efí reports it (reads only). */
  favoredKey: string | null;
  /** Money the receiving bank returned on this send (reads only; absent when none). */
  returns: EfiRefund[];
}

const pixSendStatus = z.enum(["EM_PROCESSAMENTO", "REALIZADO", "NAO_REALIZADO"]);
const pixSendTimes = z
  .object({ solicitacao: optionalText, liquidacao: optionalText })
  .nullish()
  .transform((h) => ({ requestedAt: h?.solicitacao ?? null, settledAt: h?.liquidacao ?? null }));

/** `PUT /v3/gn/pix/:idEnvio` → 201 `{idEnvio, e2eId, valor, horario{solicitacao}, status}`. */
export const pixSendCreatedSchema = z
  .object({
    idEnvio: z.string(),
    e2eId: z.string(),
    valor: amount,
    horario: pixSendTimes,
    status: pixSendStatus,
  })
  .transform(
    (s): EfiPixSend => ({
      idEnvio: s.idEnvio,
      e2eId: s.e2eId,
      amountCents: s.valor,
      status: s.status,
      ...s.horario,
      favoredKey: null,
      returns: [],
    }),
  );

/** `GET /v2/gn/pix/enviados/id-envio/:idEnvio` → `{endToEndId, idEnvio, valor, status, horario, favorecido}`. */
export const pixSendReadSchema = z
  .object({
    endToEndId: z.string().optional(),
    e2eId: z.string().optional(),
    idEnvio: z.string(),
    valor: amount,
    status: pixSendStatus,
    horario: pixSendTimes,
    favorecido: z.object({ chave: optionalText }).nullish(),
    devolucoes: z.array(refundSchema).optional(),
  })
  .refine((s) => s.endToEndId ?? s.e2eId, "endToEndId is missing")
  .transform(
    (s): EfiPixSend => ({
      idEnvio: s.idEnvio,
      e2eId: s.endToEndId ?? s.e2eId ?? "",
      amountCents: s.valor,
      status: s.status,
      ...s.horario,
      favoredKey: s.favorecido?.chave ?? null,
      returns: s.devolucoes ?? [],
    }),
  );

// ---------------------------------------------------------------------------------------------
// Received Pix statement

/** `GET /v2/pix?inicio&fim` → `{parametros{paginacao}, pix[]}`. */
export const receivedPixListSchema = z
  .object({
    parametros: z
      .object({
        paginacao: z.object({ paginaAtual: intLike, quantidadeDePaginas: intLike }).partial().optional(),
      })
      .optional(),
    pix: z.array(receivedPixSchema),
  })
  .transform((l) => ({
    pix: l.pix,
    page: l.parametros?.paginacao?.paginaAtual ?? 0,
    pages: l.parametros?.paginacao?.quantidadeDePaginas ?? 1,
  }));

/** `GET /v2/gn/pix/enviados?inicio&fim` → `{parametros{paginacao}, pix[]}`, each as a read of a send. */
export const sentPixListSchema = z
  .object({
    parametros: z
      .object({
        paginacao: z.object({ quantidadeDePaginas: intLike }).partial().optional(),
      })
      .optional(),
    pix: z.array(pixSendReadSchema),
  })
  .transform((l) => ({ pix: l.pix, pages: l.parametros?.paginacao?.quantidadeDePaginas ?? 1 }));
