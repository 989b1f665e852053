import type { payouts } from "../../db/schema";
import { maskPixKey } from "../../lib/pix-keys";

export type PayoutRow = typeof payouts.$inferSelect;

export interface PayoutView {
  id: string;
  status: PayoutRow["status"];
  amount_cents: number;
  fee_cents: number;
  /** Masked: only the last four characters are shown. */
  pix_key: string;
  pix_key_type: PayoutRow["pixKeyType"];
  rail: string;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

export function payoutView(row: PayoutRow): PayoutView {
  return {
    id: row.id,
    status: row.status,
    amount_cents: row.amountCents,
    fee_cents: row.feeCents,
    pix_key: maskPixKey(row.pixKey),
    pix_key_type: row.pixKeyType,
    rail: row.rail,
    failure_reason: row.failureReason,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
