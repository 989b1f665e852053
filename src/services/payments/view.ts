import type { PaymentStatus } from "../../db/schema";
import type { PaymentRow } from "./rows";

export interface PixChargeView {
  txid: string | null;
  end_to_end_id: string | null;
  copia_e_cola: string | null;
  qr_code_png: string | null;
  expires_at: string | null;
  /** 1 for the first charge, +1 for each regenerated one. */
  attempt: number;
}

export interface PaymentView {
  id: string;
  purpose: PaymentRow["purpose"];
  status: PaymentStatus;
  method: PaymentRow["method"];
  amount_cents: number;
  refunded_cents: number;
  ride_id: string | null;
  payer_id: string;
  /** The Pix charge; null for a card payment. Its fields are null until the charge exists. */
  pix: PixChargeView | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
}

/** A pending charge whose expiry has passed is expired, whether or not the cron marked it yet. */
export function lapsed(row: PaymentRow, now: Date): boolean {
  return row.status === "pending" && row.expiresAt !== null && row.expiresAt <= now.toISOString();
}

export function paymentView(row: PaymentRow, now: Date): PaymentView {
  return {
    id: row.id,
    purpose: row.purpose,
    status: lapsed(row, now) ? "expired" : row.status,
    method: row.method,
    amount_cents: row.amountCents,
    refunded_cents: row.refundedCents,
    ride_id: row.rideId,
    payer_id: row.payerId,
    pix:
      row.method === "pix"
        ? {
            txid: row.txid,
            end_to_end_id: row.endToEndId,
            copia_e_cola: row.copiaECola,
            qr_code_png: row.qrCodePng,
            expires_at: row.expiresAt,
            attempt: row.attempt,
          }
        : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    paid_at: row.paidAt,
  };
}
