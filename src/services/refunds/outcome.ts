import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ledgerPostingChecks, payments, refunds } from "../../db/schema";
import type { ServiceContext } from "../context";
import { post } from "../ledger/post";
import { announceWallets, driversOf } from "../wallet/updated";
import { refundIdOf } from "./ids";
import { type PaymentRow, paymentRow, type RefundRow, refundRow } from "./reads";
import { refundLines } from "./shares";
import { type RefundView, refundView } from "./view";

// A refund's outcome. Nothing moves in the ledger until the provider confirms: Efí's refund
// webhook (`DEVOLUCAO_…`) reaches `applyRefundOutcome` through the payments queue. `DEVOLVIDO`
// posts `refund:<id>` (lines in ./shares), marks the refund `refunded` and raises
// `payments.refunded_cents` (status `refunded` when all of it is back, else `partially_refunded`),
// in one batch. `NAO_REALIZADO` marks it `failed`, posts nothing, and frees its amount. Either is
// applied once; a replay changes nothing, and the other outcome after one was applied is reported
// as a conflict, for a person.

export interface RefundOutcomeInput {
  /** The refunded Pix's end-to-end id (the webhook item's `endToEndId`). */
  endToEndId: string;
  /** The refund's id as Efí knows it (`devolucoes[].id`, `rfd01J…`) or ours (`rfd_01J…`). */
  refundId: string;
  status: "DEVOLVIDO" | "NAO_REALIZADO";
  /** Efí's `motivo` of a `NAO_REALIZADO`. */
  reason?: string | null;
}

export type RefundOutcomeResult =
  /** This call applied the outcome. */
  | { status: "applied"; refund: RefundView }
  /** The same outcome was applied before: nothing changed now. */
  | { status: "already_applied"; refund: RefundView }
  /** The other outcome was applied before: nothing changed; a person must look (logged). */
  | { status: "conflict"; refund: RefundView }
  /** No refund of ours with this id on this Pix. */
  | { status: "unknown_refund" };

/**
 * Applies Efí's final word on a refund (from its webhook, confirmed by the payments queue, or a
 * read by `reconcileRefund`): `DEVOLVIDO` posts and marks it refunded, `NAO_REALIZADO` fails it.
 * Idempotent and safe to race: see `settleRefund`.
 */
export async function applyRefundOutcome(
  ctx: ServiceContext,
  input: RefundOutcomeInput,
): Promise<RefundOutcomeResult> {
  const id = refundIdOf(input.refundId);
  const row = id ? await refundRow(ctx, id) : undefined;
  const payment = row ? await paymentRow(ctx, row.paymentId) : undefined;
  if (!row || !payment || payment.method !== "pix" || payment.endToEndId !== input.endToEndId) {
    ctx.log.warn("refund outcome for no refund of ours", {
      refund_id: input.refundId,
      end_to_end_id: input.endToEndId,
    });
    return { status: "unknown_refund" };
  }
  return settleRefund(
    ctx,
    row.id,
    input.status === "DEVOLVIDO"
      ? { status: "refunded" }
      : { status: "failed", reason: input.reason || "efi_nao_realizado" },
  );
}

type Outcome = { status: "refunded" } | { status: "failed"; reason: string };

const MAX_ATTEMPTS = 5;

/**
 * Moves a processing refund to its outcome, once. `failed` is one guarded update. `refunded` is
 * one batch: a guard that aborts it unless the refund is still processing and the payment's
 * refunded total is the one the driver part was computed from, the refund and payment rows, and
 * the posting `refund:<id>`. A concurrent call that wins makes this one re-read and report.
 */
export async function settleRefund(
  ctx: ServiceContext,
  refundId: string,
  outcome: Outcome,
): Promise<RefundOutcomeResult> {
  for (let attempt = 1; ; attempt++) {
    const row = await refundRow(ctx, refundId);
    if (!row) return { status: "unknown_refund" };
    if (row.status === outcome.status) return { status: "already_applied", refund: refundView(row) };
    if (row.status !== "processing") {
      ctx.log.error("refund outcome conflicts with the one applied before", {
        refund_id: row.id,
        applied: row.status,
        reported: outcome.status,
      });
      return { status: "conflict", refund: refundView(row) };
    }
    const updatedAt = ctx.now().toISOString();

    if (outcome.status === "failed") {
      const changed = await ctx.db
        .update(refunds)
        .set({ status: "failed", reason: outcome.reason.slice(0, 500), updatedAt })
        .where(and(eq(refunds.id, row.id), eq(refunds.status, "processing")))
        .returning();
      const [failed] = changed;
      if (failed) return { status: "applied", refund: refundView(failed) };
      continue; // someone else settled it: the next pass reports what they did
    }

    const payment = await paymentRow(ctx, row.paymentId);
    if (!payment) throw new Error(`refund ${row.id} has no payment ${row.paymentId}`);
    const lines = await refundLines(ctx, payment, row.amountCents);
    try {
      const result = await post(
        ctx,
        {
          idempotencyKey: `refund:${row.id}`,
          kind: "payment.refund",
          reference: payment.rideId
            ? { type: "ride", id: payment.rideId }
            : { type: "payment", id: payment.id },
          effectiveAt: ctx.now(),
          memo: `refund ${row.id} of ${payment.id}${row.providerReference ? ` (${row.providerReference})` : ""}`,
          lines,
        },
        (transactionId) => refundedStatements(ctx, row, payment, transactionId, updatedAt),
      );
      const refund = await refundRow(ctx, row.id);
      if (!refund) throw new Error(`refund ${row.id} vanished`);
      if (!result.replayed) await announceWallets(ctx, driversOf(lines));
      return { status: result.replayed ? "already_applied" : "applied", refund: refundView(refund) };
    } catch (error) {
      // The guard fired: the refund or the payment's total moved under us. Look again.
      const [refundNow, paymentNow] = await Promise.all([
        refundRow(ctx, row.id),
        paymentRow(ctx, payment.id),
      ]);
      const moved = refundNow?.status !== "processing" || paymentNow?.refundedCents !== payment.refundedCents;
      if (!moved || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * The statements batched with a refund's posting. The first closes the posting early, which the
 * ledger refuses (`ledger_unbalanced`), unless the refund is still processing and the payment
 * still has the refunded total the lines were computed from: so a concurrent outcome, or another
 * refund confirmed in between, aborts the whole batch instead of posting twice or wrongly.
 */
function refundedStatements(
  ctx: ServiceContext,
  refund: RefundRow,
  payment: PaymentRow,
  transactionId: string,
  updatedAt: string,
): BatchItem<"sqlite">[] {
  const guard = ctx.db.insert(ledgerPostingChecks).select(sql`
    SELECT ${transactionId}
     WHERE NOT EXISTS (SELECT 1 FROM refunds WHERE id = ${refund.id} AND status = 'processing')
        OR NOT EXISTS (SELECT 1 FROM payments WHERE id = ${payment.id} AND refunded_cents = ${payment.refundedCents})`);
  const refundUpdate = ctx.db
    .update(refunds)
    .set({ status: "refunded", ledgerTransactionId: transactionId, updatedAt })
    .where(eq(refunds.id, refund.id));
  const paymentUpdate = ctx.db
    .update(payments)
    .set({
      refundedCents: sql`${payments.refundedCents} + ${refund.amountCents}`,
      status: sql`CASE WHEN ${payments.refundedCents} + ${refund.amountCents} >= ${payments.amountCents} THEN 'refunded' ELSE 'partially_refunded' END`,
      updatedAt,
    })
    .where(eq(payments.id, payment.id));
  return [guard, refundUpdate, paymentUpdate];
}
