import type { PaymentRow } from "../rows";

/**
 * The payment as `GET /v1/rides/{id}/payment` shows it (`pix` is null for a card), with what a
 * card attempt adds: the attempt number and why it failed.
 */
export interface CardPaymentView {
  id: string;
  purpose: PaymentRow["purpose"];
  status: PaymentRow["status"];
  method: PaymentRow["method"];
  amount_cents: number;
  refunded_cents: number;
  ride_id: string | null;
  payer_id: string;
  pix: null;
  /** 1 for the charge at completion, +1 per retry. */
  attempt: number;
  /** Why the last attempt failed (the provider's words for a refusal), or null. */
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
}

export function cardPaymentView(row: PaymentRow): CardPaymentView {
  return {
    id: row.id,
    purpose: row.purpose,
    status: row.status,
    method: row.method,
    amount_cents: row.amountCents,
    refunded_cents: row.refundedCents,
    ride_id: row.rideId,
    payer_id: row.payerId,
    pix: null,
    attempt: row.attempt,
    failure_reason: row.failureReason,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    paid_at: row.paidAt,
  };
}
