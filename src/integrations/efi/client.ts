// Efí's API Pix: immediate charges, their QR code, Pix sends (payouts), refunds and webhook
// registration. Amounts go in and come out as integer centavos; the "12.34" strings stay here.
//
// Retries: only calls that Efí can never apply twice are repeated (reads, and PUTs keyed by our
// own txid, idEnvio or refund id). If a retry of such a PUT meets 409 "duplicate", the first try
// did reach Efí: the client reads the resource back and returns it when it is the one we asked
// for (same amount, same key), so a retried charge or payout is never a second one, nor an error.

import { z } from "zod";
import type { CreateChargeInput, RefundInput, SendPixInput } from "./client-inputs.ts";
import { EfiError } from "./errors.ts";
import { type EfiLogger, EfiTransport, type RetryPolicy } from "./http.ts";
import { centsToEfi } from "./money.ts";
import { allPages } from "./pages.ts";
import {
  chargeSchema,
  type EfiCharge,
  type EfiPixSend,
  type EfiQrCode,
  type EfiReceivedPix,
  type EfiRefund,
  pixSendCreatedSchema,
  pixSendReadSchema,
  pixTokenSchema,
  qrCodeSchema,
  receivedPixListSchema,
  refundSchema,
  sentPixListSchema,
} from "./types.ts";
import type { EfiFetch, EfiReply } from "./wire.ts";

export type { CreateChargeInput, EfiDebtor, RefundInput, SendPixInput } from "./client-inputs.ts";

export interface EfiClientOptions {
  /** `https://pix.api.efipay.com.br`, `https://pix-h.api.efipay.com.br`, or the local emulator. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Our Pix key at Efí: it receives charges and pays payouts. */
  pixKey: string;
  /** The mTLS binding's `fetch` in production; plain `fetch` against the emulator. */
  fetch: EfiFetch;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source, [0, 1). */
  random?: () => number;
  /** Per request, token requests included. Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  log?: EfiLogger;
}

export interface EfiClient {
  readonly pixKey: string;
  /** `PUT /v2/cob/:txid` with our txid; safe to call again with the same input. */
  createCharge(input: CreateChargeInput): Promise<EfiCharge>;
  /** `GET /v2/cob/:txid`; a paid charge lists its Pix in `payments`. */
  getCharge(txid: string): Promise<EfiCharge>;
  /** `GET /v2/loc/:id/qrcode`. */
  getQrCode(locId: number): Promise<EfiQrCode>;
  /** `PUT /v3/gn/pix/:idEnvio`; the result arrives by webhook (or `getPixSend`). */
  sendPix(input: SendPixInput): Promise<EfiPixSend>;
  /** `GET /v2/gn/pix/enviados/id-envio/:idEnvio`. */
  getPixSend(idEnvio: string): Promise<EfiPixSend>;
  /** `PUT /v2/pix/:e2eId/devolucao/:id`. */
  refund(input: RefundInput): Promise<EfiRefund>;
  /** `GET /v2/pix/:e2eId/devolucao/:id`. */
  getRefund(e2eId: string, refundId: string): Promise<EfiRefund>;
  /** `GET /v2/pix?inicio&fim`, every page: the Pix received in the window (at most `maxPages` pages of 1,000). */
  listReceivedPix(from: Date, to: Date, options?: { maxPages?: number }): Promise<EfiReceivedPix[]>;
  /** `GET /v2/gn/pix/enviados?inicio&fim`, every page: the Pix sent (requested) in the window. */
  listSentPix(from: Date, to: Date, options?: { maxPages?: number }): Promise<EfiPixSend[]>;
  /**
   * `PUT /v2/webhook/:chave` for our key (or `pixKey`). `skipMtlsChecking` (default true) sends
   * `x-skip-mtls-checking: true`: Workers cannot demand Efí's client certificate, so the
   * webhook is authenticated by its `hmac` secret, the sender IP and a read-back of each event.
   */
  registerWebhook(
    webhookUrl: string,
    options?: { pixKey?: string; skipMtlsChecking?: boolean },
  ): Promise<{ pixKey: string; webhookUrl: string }>;
}

const TXID = /^[a-zA-Z0-9]{26,35}$/;
const OWN_ID = /^[a-zA-Z0-9]{1,35}$/;
const E2E_ID = /^[a-zA-Z0-9]{32}$/;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value))
    throw new TypeError(`${what} must match ${pattern}, got ${JSON.stringify(value)}`);
  return value;
}

function positiveAmount(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 1) {
    throw new TypeError(`amountCents must be a positive integer, got ${cents}`);
  }
  return centsToEfi(cents);
}

const seg = encodeURIComponent;
const anyBody = z.unknown();

export function createEfiClient(options: EfiClientOptions): EfiClient {
  const http = new EfiTransport({
    ...options,
    api: "pix",
    tokenPath: "/oauth/token",
    tokenSchema: pixTokenSchema,
  });
  const { pixKey } = options;

  /**
   * A 409 on a retried PUT: our first try was applied and its reply lost. Read the resource back
   * and return it if it is what we asked for; otherwise the 409 stands.
   */
  async function resolveDuplicate<T>(
    reply: EfiReply,
    read: () => Promise<T>,
    isOurs: (existing: T) => boolean,
  ): Promise<T | undefined> {
    if (reply.status !== 409 || !reply.afterUncertainTry) return undefined;
    let existing: T;
    try {
      existing = await read();
    } catch (error) {
      if (error instanceof EfiError && error.notFound) return undefined;
      throw error;
    }
    return isOurs(existing) ? existing : undefined;
  }

  const client: EfiClient = {
    pixKey,

    async createCharge(input) {
      const txid = check(input.txid, TXID, "txid");
      if (!Number.isSafeInteger(input.expiresInSeconds) || input.expiresInSeconds < 1) {
        throw new TypeError(`expiresInSeconds must be a positive integer, got ${input.expiresInSeconds}`);
      }
      const body = {
        calendario: { expiracao: input.expiresInSeconds },
        ...(input.debtor
          ? {
              devedor:
                "cpf" in input.debtor
                  ? { cpf: input.debtor.cpf, nome: input.debtor.name }
                  : { cnpj: input.debtor.cnpj, nome: input.debtor.name },
            }
          : {}),
        valor: { original: positiveAmount(input.amountCents) },
        chave: pixKey,
        ...(input.payerInfo ? { solicitacaoPagador: input.payerInfo } : {}),
        ...(input.infoAdicionais?.length ? { infoAdicionais: input.infoAdicionais } : {}),
      };
      const reply = await http.send({ method: "PUT", path: `/v2/cob/${seg(txid)}`, body, idempotent: true });
      const existing = await resolveDuplicate(
        reply,
        () => client.getCharge(txid),
        (charge) => charge.amountCents === input.amountCents && charge.pixKey === pixKey,
      );
      return existing ?? http.expect(reply, [200, 201], chargeSchema);
    },

    async getCharge(txid) {
      check(txid, /^[a-zA-Z0-9]{1,35}$/, "txid");
      return http.call(
        { method: "GET", path: `/v2/cob/${seg(txid)}`, idempotent: true },
        [200],
        chargeSchema,
      );
    },

    async getQrCode(locId) {
      if (!Number.isSafeInteger(locId) || locId < 0)
        throw new TypeError(`locId must be an integer, got ${locId}`);
      return http.call(
        { method: "GET", path: `/v2/loc/${locId}/qrcode`, idempotent: true },
        [200],
        qrCodeSchema,
      );
    },

    async sendPix(input) {
      const idEnvio = check(input.idEnvio, OWN_ID, "idEnvio");
      const body = {
        valor: positiveAmount(input.amountCents),
        pagador: {
          chave: input.payerKey ?? pixKey,
          ...(input.payerInfo ? { infoPagador: input.payerInfo } : {}),
        },
        favorecido: { chave: input.favoredKey, ...input.favoredDocument },
      };
      const reply = await http.send({
        method: "PUT",
        path: `/v3/gn/pix/${seg(idEnvio)}`,
        body,
        idempotent: true,
      });
      const existing = await resolveDuplicate(
        reply,
        () => client.getPixSend(idEnvio),
        (send) =>
          send.amountCents === input.amountCents &&
          (send.favoredKey === null || send.favoredKey === input.favoredKey),
      );
      return existing ?? http.expect(reply, [200, 201], pixSendCreatedSchema);
    },

    async getPixSend(idEnvio) {
      check(idEnvio, OWN_ID, "idEnvio");
      return http.call(
        { method: "GET", path: `/v2/gn/pix/enviados/id-envio/${seg(idEnvio)}`, idempotent: true },
        [200],
        pixSendReadSchema,
      );
    },

    async refund(input) {
      const e2eId = check(input.e2eId, E2E_ID, "e2eId");
      const refundId = check(input.refundId, OWN_ID, "refundId");
      const reply = await http.send({
        method: "PUT",
        path: `/v2/pix/${seg(e2eId)}/devolucao/${seg(refundId)}`,
        body: { valor: positiveAmount(input.amountCents) },
        idempotent: true,
      });
      const existing = await resolveDuplicate(
        reply,
        () => client.getRefund(e2eId, refundId),
        (refund) => refund.amountCents === input.amountCents,
      );
      return existing ?? http.expect(reply, [200, 201], refundSchema);
    },

    async getRefund(e2eId, refundId) {
      check(e2eId, E2E_ID, "e2eId");
      check(refundId, OWN_ID, "refundId");
      return http.call(
        { method: "GET", path: `/v2/pix/${seg(e2eId)}/devolucao/${seg(refundId)}`, idempotent: true },
        [200],
        refundSchema,
      );
    },

    listReceivedPix: (from, to, options = {}) =>
      allPages(http, "/v2/pix", { from, to, ...options }, receivedPixListSchema),

    listSentPix: (from, to, options = {}) =>
      allPages(http, "/v2/gn/pix/enviados", { from, to, ...options }, sentPixListSchema),

    async registerWebhook(webhookUrl, registration = {}) {
      const key = registration.pixKey ?? pixKey;
      const skip = registration.skipMtlsChecking ?? true;
      // A PUT of the same URL for the same key: repeating it changes nothing, so it may be retried.
      await http.call(
        {
          method: "PUT",
          path: `/v2/webhook/${seg(key)}`,
          body: { webhookUrl },
          headers: { "x-skip-mtls-checking": String(skip) },
          idempotent: true,
        },
        [200, 201, 204], // Efí's docs say 201, BCB's spec 200 (UNCONFIRMED); the body is not used.
        anyBody,
      );
      return { pixKey: key, webhookUrl };
    },
  };
  return client;
}
