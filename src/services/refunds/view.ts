import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { type PaymentRow, paymentRow, processingCents, type RefundRow, type RefundStatus } from "./reads";

/** The payment statuses a refund may start from. */
export const REFUNDABLE: PaymentRow["status"][] = ["paid", "partially_refunded"];

export interface RefundView {
  id: string;
  payment_id: string;
  status: RefundStatus;
  amount_cents: number;
  /** Efí's rtrId for a Pix refund; null until Efí answered, and for a card refund. */
  provider_reference: string | null;
  /** Why the provider did not make it (`failed`), e.g. Efí's `motivo` or error code. */
  failure_reason: string | null;
  requested_by: string | null;
  ledger_transaction_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface RefundPaymentView {
  id: string;
  status: PaymentRow["status"];
  method: PaymentRow["method"];
  amount_cents: number;
  refunded_cents: number;
  /** Still refundable now: amount − refunded − refunds processing. */
  refundable_cents: number;
}

export function refundView(row: RefundRow): RefundView {
  return {
    id: row.id,
    payment_id: row.paymentId,
    status: row.status,
    amount_cents: row.amountCents,
    provider_reference: row.providerReference,
    failure_reason: row.status === "failed" ? row.reason : null,
    requested_by: row.requestedBy,
    ledger_transaction_id: row.ledgerTransactionId,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** The payment's refund figures now. */
export async function paymentSummary(ctx: ServiceContext, paymentId: string): Promise<RefundPaymentView> {
  const payment = await paymentRow(ctx, paymentId);
  if (!payment) throw new ApiError("not_found", "No such payment");
  const processing = await processingCents(ctx, paymentId);
  return {
    id: payment.id,
    status: payment.status,
    method: payment.method,
    amount_cents: payment.amountCents,
    refunded_cents: payment.refundedCents,
    refundable_cents: REFUNDABLE.includes(payment.status)
      ? Math.max(payment.amountCents - payment.refundedCents - processing, 0)
      : 0,
  };
}
