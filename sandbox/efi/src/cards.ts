import type { Deps } from "./context";
import { randomHex } from "./ids";
import { type DeliveryResult, notify } from "./webhooks";

/**
 * Card charges of Efí's Cobranças API (`/v1/authorize`, `/v1/charge/...`). Homologação decides a card payment by
 * the last digit of the card number; the server never sees that number, only the browser's
 * payment_token, so the sandbox reads the outcome from the token's last character instead:
 * 1 invalid card data, 2 refused for security, 3 try again later, anything else approved.
 * `POST /sandbox/cards/refuse-next` forces the next charge's outcome whatever its token.
 */

export type CardStatus = "new" | "waiting" | "approved" | "unpaid" | "paid" | "refunded" | "canceled";

export interface CardRow {
  charge_id: number;
  status: CardStatus;
  total: number;
  installments: number;
  payment_token: string;
  items: string;
  customer: string | null;
  custom_id: string | null;
  notification_url: string | null;
  notification_token: string;
  refusal: string | null;
  refunded_cents: number;
  created_at: string;
  paid_at: string | null;
}

export interface CardEventRow {
  id: number;
  charge_id: number;
  status: CardStatus;
  previous: CardStatus | null;
  message: string;
  created_at: string;
}

export const REFUSALS: Record<string, { reason: string; retry: boolean }> = {
  "1": { reason: "Dados do cartão inválidos.", retry: false },
  "2": { reason: "Transação não autorizada por motivos de segurança.", retry: false },
  "3": { reason: "Transação não autorizada, tente novamente mais tarde.", retry: true },
};

export const REFUSE_NEXT_CARD = "refuse_next_card";

/** Efí's Cobranças API prints times as "YYYY-MM-DD HH:mm:ss" in Brasília time (UTC−3). */
export function efiDateTime(date: Date): string {
  return new Date(date.getTime() - 3 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
}

export function outcomeOf(paymentToken: string, forced: string | null) {
  const digit = forced ?? paymentToken.slice(-1);
  return REFUSALS[digit] ?? null;
}

export function findCard(db: D1Database, chargeId: number) {
  return db.prepare("SELECT * FROM card_charges WHERE charge_id = ?").bind(chargeId).first<CardRow>();
}

export async function cardEvents(db: D1Database, chargeId: number): Promise<CardEventRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM card_events WHERE charge_id = ? ORDER BY id")
    .bind(chargeId)
    .all<CardEventRow>();
  return results;
}

export async function insertCard(
  deps: Deps,
  row: Omit<
    CardRow,
    "charge_id" | "notification_token" | "refunded_cents" | "paid_at" | "status" | "refusal"
  >,
): Promise<CardRow> {
  const created = await deps.db
    .prepare(
      `INSERT INTO card_charges (status, total, installments, payment_token, items, customer, custom_id,
        notification_url, notification_token, created_at)
       VALUES ('new', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    )
    .bind(
      row.total,
      row.installments,
      row.payment_token,
      row.items,
      row.customer,
      row.custom_id,
      row.notification_url,
      `${randomHex(8)}-${randomHex(4)}-${randomHex(4)}-${randomHex(4)}-${randomHex(12)}`,
      row.created_at,
    )
    .first<CardRow>();
  if (!created) throw new Error("card charge insert returned nothing");
  await deps.db
    .prepare(
      "INSERT INTO card_events (charge_id, status, previous, message, created_at) VALUES (?, 'new', NULL, ?, ?)",
    )
    .bind(created.charge_id, "Cobrança criada", row.created_at)
    .run();
  return created;
}

/**
 * Moves a charge from one status to another (guarded by the current one) and records the event;
 * `notify` then posts the charge's notification token to its notification_url, if it has one.
 */
export async function transition(
  deps: Deps,
  chargeId: number,
  from: CardStatus[],
  to: CardStatus,
  message: string,
  extra: { refusal?: string | null; refundedCents?: number } = {},
): Promise<{ ok: boolean; notify?: () => Promise<DeliveryResult> }> {
  const now = deps.now().toISOString();
  const current = await findCard(deps.db, chargeId);
  if (!current || !from.includes(current.status)) return { ok: false };
  const updated = await deps.db
    .prepare(
      `UPDATE card_charges SET status = ?, refusal = COALESCE(?, refusal),
        refunded_cents = COALESCE(?, refunded_cents), paid_at = CASE WHEN ? = 'paid' THEN ? ELSE paid_at END
       WHERE charge_id = ? AND status = ?`,
    )
    .bind(to, extra.refusal ?? null, extra.refundedCents ?? null, to, now, chargeId, current.status)
    .run();
  if (updated.meta.changes !== 1) return { ok: false };
  await deps.db
    .prepare(
      "INSERT INTO card_events (charge_id, status, previous, message, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(chargeId, to, current.status, message, now)
    .run();
  if (!current.notification_url || to === current.status) return { ok: true };
  const url = current.notification_url;
  const body = new URLSearchParams({ notification: current.notification_token }).toString();
  return {
    ok: true,
    notify: () =>
      notify(deps, {
        kind: "CARD_NOTIFICATION",
        reason: "event",
        url,
        body,
        contentType: "application/x-www-form-urlencoded",
        e2eIds: [String(chargeId)],
        retry: true,
      }),
  };
}

/** Approved → paid: the capture that homologação confirms by itself (or the control API does). */
export function confirmCard(deps: Deps, chargeId: number) {
  return transition(deps, chargeId, ["approved"], "paid", "Pagamento confirmado");
}
