/** The sandbox's rows, read and written with plain D1 statements (one table per Efí resource). */

export interface TokenRow {
  token: string;
  api: "pix" | "cobrancas";
  client_id: string;
  scopes: string;
  issued_at: string;
  expires_at: string;
}

export interface LocationRow {
  id: number;
  token: string;
  tipo_cob: "cob" | "cobv";
  location: string;
  txid: string | null;
  criacao: string;
}

export type CobStatus = "ATIVA" | "CONCLUIDA" | "REMOVIDA_PELO_USUARIO_RECEBEDOR" | "REMOVIDA_PELO_PSP";

export interface CobRow {
  txid: string;
  revisao: number;
  status: CobStatus;
  criacao: string;
  expiracao: number;
  valor_cents: number;
  chave: string;
  devedor: string | null;
  solicitacao_pagador: string | null;
  info_adicionais: string | null;
  loc_id: number;
  updated_at: string;
}

export interface PixRow {
  e2e_id: string;
  txid: string | null;
  chave: string;
  valor_cents: number;
  horario: string;
  info_pagador: string | null;
}

export type RefundStatus = "EM_PROCESSAMENTO" | "DEVOLVIDO" | "NAO_REALIZADO";

export interface RefundRow {
  e2e_id: string;
  id: string;
  rtr_id: string;
  valor_cents: number;
  status: RefundStatus;
  motivo: string | null;
  solicitacao: string;
  liquidacao: string | null;
}

export type SendStatus = "EM_PROCESSAMENTO" | "REALIZADO" | "NAO_REALIZADO";

export interface SendRow {
  id_envio: string;
  e2e_id: string;
  valor_cents: number;
  pagador_chave: string;
  info_pagador: string | null;
  favorecido: string;
  status: SendStatus;
  solicitacao: string;
  liquidacao: string | null;
  erro: string | null;
}

export interface SendRefundRow {
  e2e_id: string;
  id: string;
  rtr_id: string;
  valor_cents: number;
  horario: string;
}

export interface WebhookRow {
  chave: string;
  webhook_url: string;
  criacao: string;
}

export async function insertToken(db: D1Database, row: TokenRow): Promise<void> {
  await db
    .prepare(
      "INSERT INTO tokens (token, api, client_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(row.token, row.api, row.client_id, row.scopes, row.issued_at, row.expires_at)
    .run();
}

export function findToken(db: D1Database, token: string) {
  return db.prepare("SELECT * FROM tokens WHERE token = ?").bind(token).first<TokenRow>();
}

/** Makes tokens expire now: every token, or just the given one. Returns how many changed. */
export async function expireTokens(db: D1Database, at: string, token?: string): Promise<number> {
  const statement = token
    ? db.prepare("UPDATE tokens SET expires_at = ? WHERE token = ? AND expires_at > ?").bind(at, token, at)
    : db.prepare("UPDATE tokens SET expires_at = ? WHERE expires_at > ?").bind(at, at);
  const result = await statement.run();
  return result.meta.changes;
}

export async function insertLocation(
  db: D1Database,
  row: Omit<LocationRow, "id" | "txid">,
): Promise<LocationRow> {
  const created = await db
    .prepare("INSERT INTO locations (token, tipo_cob, location, criacao) VALUES (?, ?, ?, ?) RETURNING *")
    .bind(row.token, row.tipo_cob, row.location, row.criacao)
    .first<LocationRow>();
  if (!created) throw new Error("location insert returned nothing");
  return created;
}

export function findLocation(db: D1Database, id: number) {
  return db.prepare("SELECT * FROM locations WHERE id = ?").bind(id).first<LocationRow>();
}

/**
 * Creates a cob and links its location in one batch. The link is guarded (`txid IS NULL`) and
 * the cob is inserted only if the link took, so a location is never shared by two cobs. A
 * duplicate txid fails the batch with a UNIQUE constraint error. Returns false if the location
 * was already linked to another txid.
 */
export async function insertCob(db: D1Database, cob: CobRow): Promise<boolean> {
  const link = db
    .prepare("UPDATE locations SET txid = ? WHERE id = ? AND txid IS NULL")
    .bind(cob.txid, cob.loc_id);
  const insert = db
    .prepare(
      `INSERT INTO cobs (txid, revisao, status, criacao, expiracao, valor_cents, chave, devedor,
        solicitacao_pagador, info_adicionais, loc_id, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, id, ? FROM locations WHERE id = ? AND txid = ?`,
    )
    .bind(
      cob.txid,
      cob.revisao,
      cob.status,
      cob.criacao,
      cob.expiracao,
      cob.valor_cents,
      cob.chave,
      cob.devedor,
      cob.solicitacao_pagador,
      cob.info_adicionais,
      cob.updated_at,
      cob.loc_id,
      cob.txid,
    );
  const [, inserted] = await db.batch([link, insert]);
  return inserted?.meta.changes === 1;
}

/** Writes a revised cob, guarded by the revision it was read at. */
export async function updateCob(db: D1Database, cob: CobRow, readAtRevisao: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE cobs SET revisao = ?, status = ?, expiracao = ?, valor_cents = ?, chave = ?, devedor = ?,
        solicitacao_pagador = ?, info_adicionais = ?, loc_id = ?, updated_at = ?
       WHERE txid = ? AND revisao = ? AND status = 'ATIVA'`,
    )
    .bind(
      cob.revisao,
      cob.status,
      cob.expiracao,
      cob.valor_cents,
      cob.chave,
      cob.devedor,
      cob.solicitacao_pagador,
      cob.info_adicionais,
      cob.loc_id,
      cob.updated_at,
      cob.txid,
      readAtRevisao,
    )
    .run();
  return result.meta.changes === 1;
}

export function findCob(db: D1Database, txid: string) {
  return db.prepare("SELECT * FROM cobs WHERE txid = ?").bind(txid).first<CobRow>();
}

export async function listCobs(db: D1Database, inicio: string, fim: string, status?: string) {
  const sql = `SELECT * FROM cobs WHERE criacao >= ? AND criacao <= ?${status ? " AND status = ?" : ""} ORDER BY criacao`;
  const bound = status ? [inicio, fim, status] : [inicio, fim];
  const { results } = await db
    .prepare(sql)
    .bind(...bound)
    .all<CobRow>();
  return results;
}

/**
 * Pays an ATIVA cob: records the received Pix and concludes the cob in one batch. Returns false
 * when the cob was no longer ATIVA (already paid, removed), so a payment happens once.
 */
export async function payCobRow(db: D1Database, pix: PixRow, at: string): Promise<boolean> {
  const insert = db
    .prepare(
      `INSERT INTO pix_received (e2e_id, txid, chave, valor_cents, horario, info_pagador)
       SELECT ?, txid, chave, ?, ?, ? FROM cobs WHERE txid = ? AND status = 'ATIVA'`,
    )
    .bind(pix.e2e_id, pix.valor_cents, pix.horario, pix.info_pagador, pix.txid);
  const conclude = db
    .prepare("UPDATE cobs SET status = 'CONCLUIDA', updated_at = ? WHERE txid = ? AND status = 'ATIVA'")
    .bind(at, pix.txid);
  const [inserted] = await db.batch([insert, conclude]);
  return inserted?.meta.changes === 1;
}

export function findPix(db: D1Database, e2eId: string) {
  return db.prepare("SELECT * FROM pix_received WHERE e2e_id = ?").bind(e2eId).first<PixRow>();
}

export function findPixByTxid(db: D1Database, txid: string) {
  return db.prepare("SELECT * FROM pix_received WHERE txid = ?").bind(txid).first<PixRow>();
}

export async function listRefunds(db: D1Database, e2eId: string): Promise<RefundRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM refunds WHERE e2e_id = ? ORDER BY solicitacao, id")
    .bind(e2eId)
    .all<RefundRow>();
  return results;
}

export function findRefund(db: D1Database, e2eId: string, id: string) {
  return db.prepare("SELECT * FROM refunds WHERE e2e_id = ? AND id = ?").bind(e2eId, id).first<RefundRow>();
}

/**
 * Inserts a refund only while the refunds not rejected, this one included, stay within the Pix's
 * amount: one statement, so two refunds at once cannot both pass the check.
 */
export async function insertRefund(db: D1Database, row: RefundRow): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO refunds (e2e_id, id, rtr_id, valor_cents, status, motivo, solicitacao, liquidacao)
       SELECT ?, ?, ?, ?, ?, ?, ?, ? FROM pix_received p
       WHERE p.e2e_id = ? AND p.valor_cents >= ? + (
         SELECT COALESCE(SUM(valor_cents), 0) FROM refunds WHERE e2e_id = ? AND status != 'NAO_REALIZADO')`,
    )
    .bind(
      row.e2e_id,
      row.id,
      row.rtr_id,
      row.valor_cents,
      row.status,
      row.motivo,
      row.solicitacao,
      row.liquidacao,
      row.e2e_id,
      row.valor_cents,
      row.e2e_id,
    )
    .run();
  return result.meta.changes === 1;
}

/** Moves a refund out of EM_PROCESSAMENTO; false if it already left it. */
export async function settleRefundRow(
  db: D1Database,
  e2eId: string,
  id: string,
  status: RefundStatus,
  motivo: string | null,
  at: string,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE refunds SET status = ?, motivo = ?, liquidacao = ?
       WHERE e2e_id = ? AND id = ? AND status = 'EM_PROCESSAMENTO'`,
    )
    .bind(status, motivo, status === "DEVOLVIDO" ? at : null, e2eId, id)
    .run();
  return result.meta.changes === 1;
}

export async function insertSend(db: D1Database, row: SendRow): Promise<void> {
  await db
    .prepare(
      `INSERT INTO pix_sends (id_envio, e2e_id, valor_cents, pagador_chave, info_pagador, favorecido, status,
        solicitacao, liquidacao, erro) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      row.id_envio,
      row.e2e_id,
      row.valor_cents,
      row.pagador_chave,
      row.info_pagador,
      row.favorecido,
      row.status,
      row.solicitacao,
      row.liquidacao,
      row.erro,
    )
    .run();
}

export function findSend(db: D1Database, idEnvio: string) {
  return db.prepare("SELECT * FROM pix_sends WHERE id_envio = ?").bind(idEnvio).first<SendRow>();
}

export function findSendByE2e(db: D1Database, e2eId: string) {
  return db.prepare("SELECT * FROM pix_sends WHERE e2e_id = ?").bind(e2eId).first<SendRow>();
}

/** Settles a send still EM_PROCESSAMENTO; false if something else settled it first. */
export async function settleSendRow(
  db: D1Database,
  idEnvio: string,
  status: "REALIZADO" | "NAO_REALIZADO",
  at: string,
  erro: string | null,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE pix_sends SET status = ?, liquidacao = ?, erro = ?
       WHERE id_envio = ? AND status = 'EM_PROCESSAMENTO'`,
    )
    .bind(status, status === "REALIZADO" ? at : null, erro, idEnvio)
    .run();
  return result.meta.changes === 1;
}

export async function insertSendRefunds(db: D1Database, rows: SendRefundRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.batch(
    rows.map((row) =>
      db
        .prepare("INSERT INTO send_refunds (e2e_id, id, rtr_id, valor_cents, horario) VALUES (?, ?, ?, ?, ?)")
        .bind(row.e2e_id, row.id, row.rtr_id, row.valor_cents, row.horario),
    ),
  );
}

export async function listSendRefunds(db: D1Database, e2eId: string): Promise<SendRefundRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM send_refunds WHERE e2e_id = ? ORDER BY id")
    .bind(e2eId)
    .all<SendRefundRow>();
  return results;
}

export async function upsertWebhook(db: D1Database, row: WebhookRow): Promise<void> {
  await db
    .prepare(
      `INSERT INTO webhooks (chave, webhook_url, criacao) VALUES (?, ?, ?)
       ON CONFLICT (chave) DO UPDATE SET webhook_url = excluded.webhook_url, criacao = excluded.criacao`,
    )
    .bind(row.chave, row.webhook_url, row.criacao)
    .run();
}

export function findWebhook(db: D1Database, chave: string) {
  return db.prepare("SELECT * FROM webhooks WHERE chave = ?").bind(chave).first<WebhookRow>();
}

export async function deleteWebhook(db: D1Database, chave: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM webhooks WHERE chave = ?").bind(chave).run();
  return result.meta.changes === 1;
}

export async function listWebhooks(db: D1Database): Promise<WebhookRow[]> {
  const { results } = await db.prepare("SELECT * FROM webhooks ORDER BY criacao").all<WebhookRow>();
  return results;
}

export async function setFlag(db: D1Database, name: string, value: string): Promise<void> {
  await db
    .prepare(
      "INSERT INTO sandbox_flags (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
    )
    .bind(name, value, value)
    .run();
}

/** Reads and clears a one-shot flag in one statement, so two requests cannot both take it. */
export async function takeFlag(db: D1Database, name: string): Promise<string | null> {
  const row = await db
    .prepare("DELETE FROM sandbox_flags WHERE name = ? RETURNING value")
    .bind(name)
    .first<{ value: string }>();
  return row?.value ?? null;
}
