import { dynamicBrCode } from "./brcode";
import type { Deps } from "./context";
import { newE2eId, newRtrId, randomAlnum } from "./ids";
import { formatValor } from "./money";
import {
  type CobRow,
  findCob,
  findPix,
  findPixByTxid,
  findSend,
  findSendByE2e,
  insertSendRefunds,
  type LocationRow,
  listRefunds,
  listSendRefunds,
  type PixRow,
  payCobRow,
  type RefundRow,
  type SendRow,
  settleRefundRow,
  settleSendRow,
} from "./store";
import { type DeliveryKind, type DeliveryReason, type DeliveryResult, notifyPix } from "./webhooks";

/**
 * What happens to money in the sandbox: paying cobs, settling sends and refunds, and the
 * notifications each sends. Plain functions over `Deps`, shared by the Efí routes, the
 * background work and the control API.
 */

export function brCodeFor(location: string): string {
  return dynamicBrCode({ location });
}

/** The received-Pix item of a webhook and of `pix[]` in `GET /v2/cob`. */
export function pixItem(pix: PixRow, withChave: boolean) {
  return {
    endToEndId: pix.e2e_id,
    ...(pix.txid ? { txid: pix.txid } : {}),
    ...(withChave ? { chave: pix.chave } : {}),
    valor: formatValor(pix.valor_cents),
    horario: pix.horario,
    ...(pix.info_pagador ? { infoPagador: pix.info_pagador } : {}),
  };
}

export function refundView(refund: RefundRow, withLiquidacao: boolean) {
  return {
    id: refund.id,
    rtrId: refund.rtr_id,
    valor: formatValor(refund.valor_cents),
    horario: {
      solicitacao: refund.solicitacao,
      ...(withLiquidacao && refund.liquidacao ? { liquidacao: refund.liquidacao } : {}),
    },
    status: refund.status,
    ...(refund.motivo ? { motivo: refund.motivo } : {}),
  };
}

/** A received Pix as `GET /v2/pix/:e2eId` and `pix[]` of a cob show it, refunds included. */
export async function pixWithRefunds(deps: Deps, pix: PixRow) {
  const refunds = await listRefunds(deps.db, pix.e2e_id);
  return {
    ...pixItem(pix, false),
    ...(refunds.length ? { devolucoes: refunds.map((r) => refundView(r, true)) } : {}),
  };
}

/** The cob as Efí returns it, in the field order of a real sandbox capture. */
export async function cobView(deps: Deps, cob: CobRow, loc: LocationRow) {
  const pix = cob.status === "CONCLUIDA" ? await findPixByTxid(deps.db, cob.txid) : null;
  return {
    calendario: { criacao: cob.criacao, expiracao: cob.expiracao },
    txid: cob.txid,
    revisao: cob.revisao,
    status: cob.status,
    valor: { original: formatValor(cob.valor_cents) },
    chave: cob.chave,
    ...(cob.devedor ? { devedor: JSON.parse(cob.devedor) } : {}),
    ...(cob.solicitacao_pagador ? { solicitacaoPagador: cob.solicitacao_pagador } : {}),
    ...(cob.info_adicionais ? { infoAdicionais: JSON.parse(cob.info_adicionais) } : {}),
    loc: { id: loc.id, location: loc.location, tipoCob: loc.tipo_cob, criacao: loc.criacao },
    location: loc.location,
    pixCopiaECola: brCodeFor(loc.location),
    ...(pix ? { pix: [await pixWithRefunds(deps, pix)] } : {}),
  };
}

export function isExpired(deps: Deps, cob: CobRow): boolean {
  return Date.parse(cob.criacao) + cob.expiracao * 1000 <= deps.now().getTime();
}

/** Sends a notification; flows return one so the caller decides when it runs (see `later`). */
export type Notification<T = DeliveryResult> = () => Promise<T>;

export type PayOutcome =
  | { ok: true; pix: PixRow; notify: Notification }
  | { ok: false; reason: "not_found" | "not_active" | "expired"; status?: string };

/** Pays a cob as a payer's bank would (amount defaults to the charge's); `notify` tells the key's webhook. */
export async function payCob(
  deps: Deps,
  txid: string,
  input: { valorCents?: number; infoPagador?: string } = {},
): Promise<PayOutcome> {
  const cob = await findCob(deps.db, txid);
  if (!cob) return { ok: false, reason: "not_found" };
  if (cob.status !== "ATIVA") return { ok: false, reason: "not_active", status: cob.status };
  if (isExpired(deps, cob)) return { ok: false, reason: "expired" };
  const now = deps.now();
  const pix: PixRow = {
    e2e_id: newE2eId(now),
    txid: cob.txid,
    chave: cob.chave,
    valor_cents: input.valorCents ?? cob.valor_cents,
    horario: now.toISOString(),
    info_pagador: input.infoPagador ?? null,
  };
  if (!(await payCobRow(deps.db, pix, now.toISOString()))) {
    const current = await findCob(deps.db, txid);
    return { ok: false, reason: "not_active", status: current?.status };
  }
  return {
    ok: true,
    pix,
    notify: () => notifyPix(deps, pix.chave, "PIX_RECEBIDO", "event", [pixItem(pix, true)]),
  };
}

/** The webhook item for a received Pix with its settled refunds (Efí sends the whole array). */
export async function refundNotificationItem(deps: Deps, pix: PixRow) {
  const refunds = (await listRefunds(deps.db, pix.e2e_id)).filter((r) => r.status !== "EM_PROCESSAMENTO");
  return { ...pixItem(pix, true), devolucoes: refunds.map((r) => refundView(r, false)) };
}

/** Homologação: a refund of exactly R$0.01 is rejected; any other amount is returned. */
export async function settleRefund(deps: Deps, e2eId: string, id: string): Promise<Notification | null> {
  const pix = await findPix(deps.db, e2eId);
  const refunds = await listRefunds(deps.db, e2eId);
  const refund = refunds.find((r) => r.id === id);
  if (!pix || !refund) return null;
  const rejected = refund.valor_cents === 1;
  const motivo = rejected ? "Devolução rejeitada pela simulação de homologação (valor de R$ 0,01)" : null;
  const status = rejected ? "NAO_REALIZADO" : "DEVOLVIDO";
  if (!(await settleRefundRow(deps.db, e2eId, id, status, motivo, deps.now().toISOString()))) return null;
  const item = await refundNotificationItem(deps, pix);
  return () => notifyPix(deps, pix.chave, "DEVOLUCAO_ENVIADA", "event", [item]);
}

export interface SendError {
  codigo: string;
  origem: string;
  motivo: string;
}

export const DEFAULT_SEND_ERROR: SendError = {
  codigo: "AC03",
  origem: "PSP do usuário recebedor",
  motivo: "Número da agência e/ou conta transacional do usuário recebedor inexistente ou inválido",
};

/** The Pix-send item of a webhook: the payer key, `tipo: SOLICITACAO`, `horario` null when rejected. */
export function sendItem(send: SendRow) {
  const erro = send.erro ? (JSON.parse(send.erro) as SendError) : null;
  return {
    endToEndId: send.e2e_id,
    chave: send.pagador_chave,
    tipo: "SOLICITACAO",
    status: send.status,
    valor: formatValor(send.valor_cents),
    horario: send.status === "REALIZADO" ? send.liquidacao : null,
    ...(send.info_pagador ? { infoPagador: send.info_pagador } : {}),
    gnExtras: { idEnvio: send.id_envio, ...(erro ? { erro } : {}) },
  };
}

/** A sent Pix with the refunds received on it (their webhook shape is unconfirmed). */
export async function sendRefundItem(deps: Deps, send: SendRow) {
  const refunds = await listSendRefunds(deps.db, send.e2e_id);
  return {
    ...sendItem(send),
    devolucoes: refunds.map((r) => ({
      id: r.id,
      rtrId: r.rtr_id,
      valor: formatValor(r.valor_cents),
      horario: { solicitacao: r.horario, liquidacao: r.horario },
      status: "DEVOLVIDO",
    })),
  };
}

/**
 * Settles a send still EM_PROCESSAMENTO; `notify` tells the payer key's webhook. Homologação:
 * R$4.00 then brings two received refunds of R$2.00 and R$5.00 one of R$5.00, notified after.
 */
export async function settleSend(
  deps: Deps,
  idEnvio: string,
  outcome: { status: "REALIZADO" } | { status: "NAO_REALIZADO"; erro: SendError },
): Promise<Notification<DeliveryResult[]> | null> {
  const now = deps.now().toISOString();
  const erro = outcome.status === "NAO_REALIZADO" ? JSON.stringify(outcome.erro) : null;
  if (!(await settleSendRow(deps.db, idEnvio, outcome.status, now, erro))) return null;
  const send = await findSend(deps.db, idEnvio);
  if (!send) return null;
  const refundAmounts = send.status === "REALIZADO" ? RECEIVED_REFUNDS[send.valor_cents] : undefined;
  if (refundAmounts) {
    await insertSendRefunds(
      deps.db,
      refundAmounts.map((valor_cents, i) => ({
        e2e_id: send.e2e_id,
        id: `D${i + 1}${randomAlnum(10)}`,
        rtr_id: newRtrId(deps.now()),
        valor_cents,
        horario: deps.now().toISOString(),
      })),
    );
  }
  const refundItem = refundAmounts ? await sendRefundItem(deps, send) : null;
  return async () => {
    const deliveries = [await notifyPix(deps, send.pagador_chave, "PIX_ENVIADO", "event", [sendItem(send)])];
    if (refundItem) {
      deliveries.push(await notifyPix(deps, send.pagador_chave, "DEVOLUCAO_RECEBIDA", "event", [refundItem]));
    }
    return deliveries;
  };
}

/** Homologação: sends of these amounts (centavos) are refunded to the payer in these parts. */
const RECEIVED_REFUNDS: Record<number, number[]> = { 400: [200, 200], 500: [500] };

export type ResendTipo = "PIX_RECEBIDO" | "PIX_ENVIADO" | "DEVOLUCAO_RECEBIDA" | "DEVOLUCAO_ENVIADA";

export interface ResendPlan {
  e2eId: string;
  kind: DeliveryKind;
  chave: string;
  item: { endToEndId: string };
}

/**
 * Works out the notification of each e2eId in its current state, for a resend. Without a
 * `tipo`, the kind comes from the e2eId: a received Pix (as a refund notification when it has
 * settled refunds) or a settled send. Returns the first e2eId that matches nothing instead.
 */
export async function planResend(
  deps: Deps,
  e2eIds: string[],
  tipo?: ResendTipo,
): Promise<ResendPlan[] | { unknown: string }> {
  const planned: ResendPlan[] = [];
  for (const e2eId of e2eIds) {
    const received = tipo === undefined || tipo === "PIX_RECEBIDO" || tipo === "DEVOLUCAO_ENVIADA";
    const pix = received ? await findPix(deps.db, e2eId) : null;
    const send = !pix && !(tipo && received) ? await findSendByE2e(deps.db, e2eId) : null;
    if (pix) {
      const refunds = await refundNotificationItem(deps, pix);
      const asRefund = tipo === "DEVOLUCAO_ENVIADA" || (!tipo && refunds.devolucoes.length > 0);
      if (tipo === "DEVOLUCAO_ENVIADA" && refunds.devolucoes.length === 0) return { unknown: e2eId };
      planned.push({
        e2eId,
        kind: asRefund ? "DEVOLUCAO_ENVIADA" : "PIX_RECEBIDO",
        chave: pix.chave,
        item: asRefund ? refunds : pixItem(pix, true),
      });
    } else if (send && send.status !== "EM_PROCESSAMENTO") {
      const refundsIn = await listSendRefunds(deps.db, e2eId);
      const asRefund = tipo === "DEVOLUCAO_RECEBIDA" || (!tipo && refundsIn.length > 0);
      if (tipo === "DEVOLUCAO_RECEBIDA" && refundsIn.length === 0) return { unknown: e2eId };
      planned.push({
        e2eId,
        kind: asRefund ? "DEVOLUCAO_RECEBIDA" : "PIX_ENVIADO",
        chave: send.pagador_chave,
        item: asRefund ? await sendRefundItem(deps, send) : sendItem(send),
      });
    } else {
      return { unknown: e2eId };
    }
  }
  return planned;
}

/** Delivers planned notifications again: one attempt each, no retries, as Efí's resend. */
export async function deliverResend(deps: Deps, plans: ResendPlan[], reason: DeliveryReason) {
  const results: { e2eId: string; kind: DeliveryKind; delivery: DeliveryResult }[] = [];
  for (const plan of plans) {
    const delivery = await notifyPix(deps, plan.chave, plan.kind, reason, [plan.item]);
    results.push({ e2eId: plan.e2eId, kind: plan.kind, delivery });
  }
  return results;
}
