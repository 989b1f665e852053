import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import {
  auditLogs,
  ledgerEntries,
  ledgerPostingChecks,
  ledgerTransactions,
  payments,
  refunds,
} from "../../db/schema";
import { EfiError } from "../../integrations/efi/errors";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { driverAccount, type PostingLine, platformAccount, post, refOf } from "../ledger/postings";

// Refunds of paid payments (POST /v1/admin/payments/{id}/refund), full or partial.
//
// - Request (`requestRefund`): only a `paid` or `partially_refunded` payment, and never more than
//   what is left: amount − refunded − refunds still processing (422 `refund_exceeds_paid`). The
//   refund row (`processing`) and the audit row are inserted by one batch whose statements carry
//   that rule in SQL, so two admins refunding at once cannot both take the last centavos. Then the
//   provider is asked: a Pix refund is `PUT /v2/pix/:e2eId/devolucao/:id` with our refund id
//   without its underscore (retry-safe: Efí refuses a second refund with that id); a card refund
//   is the card provider's refund, whose success is final.
// - Nothing moves in the ledger until the provider confirms: Efí's refund webhook (`DEVOLUCAO_…`)
//   reaches `applyRefundOutcome` through the payments queue. `DEVOLVIDO` posts `refund:<id>`,
//   marks the refund `refunded` and raises `payments.refunded_cents` (status `refunded` when all
//   of it is back, else `partially_refunded`), in one batch. `NAO_REALIZADO` marks it `failed`,
//   posts nothing, and frees its amount. Either is applied once; a replay changes nothing, and
//   the other outcome after one was applied is reported as a conflict, for a person.
// - A refusal in the request (a 4xx from Efí) fails the refund at once. No answer or a 5xx leaves
//   it `processing`: Efí may have made it, and its webhook (or `reconcileRefund`) settles it.
//
// The posting `refund:<id>` takes the money back the way it came in:
//
//     credit efi_balance                 refund        (the money leaves the platform's account)
//     debit  driver available            driver part   (enforce_floor off: may go into debt)
//     debit  revenue                     the rest
//
// - The driver part is the refund's share of the driver's share of that payment, rounded half up
//   like the commission, and computed cumulatively: part = round(after × share / paid) −
//   round(before × share / paid), where before and after are the refunded totals around this
//   refund. Refunds in several parts therefore take back exactly the driver's share and the
//   commission once everything is refunded, never a centavo more or less.
// - It is taken from `available`, not `pending`, whether or not the payment's settlement has been
//   released: settlements have no partial state, and `pending` must keep covering what is still
//   scheduled (the ledger check's `settlement_consistent`). Like a MED clawback, the refund records
//   something that already happened, so the driver's available balance may go below zero; the
//   scheduled release (or the next earnings) brings it back, and payouts are refused meanwhile.
// - The money leaves through `efi_balance`, never a clearing account: a clearing account is swept
//   by effective date (`clearingDue`), and a credit to it after or across a sweep would leave it
//   below zero. Before the nightly sweep `efi_balance` may dip below zero for a day, exactly as
//   it does when a payout is paid from money still in clearing; `efi_clearing + efi_balance` is
//   what Efí holds. Card refunds leave the same way: the acquirer nets them out of a later
//   settlement into that one account.
// - A prepaid-credit top-up refunded takes the amount back from the driver's `credit` (floor
//   off: below the configured floor the driver cannot accept rides until topping up again).

type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type RefundStatus = RefundRow["status"];

/** The payment statuses a refund may start from. */
const REFUNDABLE: PaymentRow["status"][] = ["paid", "partially_refunded"];

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

/** Our refund id as Efí's `:id` (`^[a-zA-Z0-9]{1,35}$`): `rfd_01J…` → `rfd01J…`. */
export function efiRefundIdOf(refundId: string): string {
  return refundId.replace("_", "");
}

/** Our refund id from Efí's `:id` of a refund we made (or from our own id); null if not ours. */
export function refundIdOf(id: string): string | null {
  const ulid = "[0-9A-HJKMNP-TV-Z]{26}";
  if (new RegExp(`^rfd_${ulid}$`).test(id)) return id;
  if (new RegExp(`^rfd${ulid}$`).test(id)) return `rfd_${id.slice(3)}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Request

export interface RefundRequest {
  paymentId: string;
  /** Omitted: everything still refundable. */
  amountCents?: number;
  /** The staff member asking, for the row and the audit log. */
  actorId: string;
  /** Why, in the admin's words; kept in the audit log. */
  reason?: string;
}

export interface RefundResult {
  refund: RefundView;
  payment: RefundPaymentView;
}

/**
 * Refunds all or part of a paid payment through its provider; see the top of this file. Answers
 * with the refund as it stands after the provider's reply: usually `processing` (a Pix refund
 * settles by webhook), `refunded` (a card refund, or a provider that answered final at once) or
 * `failed` (refused in the request). Throws `not_found`, `payment_not_refundable` (409) or
 * `refund_exceeds_paid` (422) before anything is written.
 */
export async function requestRefund(ctx: ServiceContext, input: RefundRequest): Promise<RefundResult> {
  const payment = await paymentRow(ctx, input.paymentId);
  if (!payment) throw new ApiError("not_found", "No such payment");
  assertRefundable(payment);
  // Fails before Efí is asked when the payment's own posting is missing: nothing could be undone.
  await refundSource(ctx, payment);

  const remaining = payment.amountCents - payment.refundedCents - (await processingCents(ctx, payment.id));
  const amount = input.amountCents ?? remaining;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > remaining) throw exceeds(remaining);

  const now = ctx.now();
  const at = now.toISOString();
  const id = newId("rfd", now.getTime());
  // One batch, each insert guarded in SQL: the refund only if the payment is refundable and the
  // amount fits what is left counting refunds in flight; the audit row only if the refund went in.
  const insertRefund = ctx.db.insert(refunds).select(sql`
    SELECT ${id}, ${payment.id}, ${amount}, 'processing', NULL, NULL, ${input.actorId}, NULL, ${at}, ${at}
     WHERE EXISTS (
       SELECT 1 FROM payments p
        WHERE p.id = ${payment.id}
          AND p.status IN ('paid', 'partially_refunded')
          AND p.amount_cents - p.refunded_cents
              - (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r
                  WHERE r.payment_id = p.id AND r.status = 'processing') >= ${amount})`);
  const audit = ctx.db.insert(auditLogs).select(sql`
    SELECT ${newId("aud", now.getTime())}, ${input.actorId}, 'payment.refund', 'payment', ${payment.id},
           ${JSON.stringify({ status: payment.status, amount_cents: payment.amountCents, refunded_cents: payment.refundedCents })},
           ${JSON.stringify({ refund_id: id, amount_cents: amount, reason: input.reason ?? null })},
           ${ctx.requestId}, ${at}
     WHERE EXISTS (SELECT 1 FROM refunds WHERE id = ${id})`);
  await ctx.db.batch([insertRefund, audit]);

  const inserted = await refundRow(ctx, id);
  if (!inserted) {
    // Another refund or a status change got in between the read and the batch.
    const current = await paymentRow(ctx, payment.id);
    if (!current) throw new ApiError("not_found", "No such payment");
    assertRefundable(current);
    throw exceeds(current.amountCents - current.refundedCents - (await processingCents(ctx, current.id)));
  }

  const settled = await sendToProvider(ctx, payment, inserted);
  return { refund: refundView(settled), payment: await paymentSummary(ctx, payment.id) };
}

function assertRefundable(payment: PaymentRow): void {
  if (!REFUNDABLE.includes(payment.status)) {
    throw new ApiError(
      "payment_not_refundable",
      `The payment is ${payment.status}; only a paid or partially refunded payment can be refunded`,
    );
  }
  if (payment.method === "pix" && !payment.endToEndId) {
    throw new ApiError("payment_not_refundable", "The Pix payment has no end-to-end id to refund");
  }
  if (payment.method === "card" && !payment.cardChargeId) {
    throw new ApiError("payment_not_refundable", "The card payment has no charge to refund");
  }
}

function exceeds(remaining: number): ApiError {
  const left = Math.max(remaining, 0);
  return new ApiError(
    "refund_exceeds_paid",
    `At most ${left} centavos of this payment can be refunded now (paid, less refunded and refunds in progress)`,
    { errors: [{ path: "amount_cents", message: `must be between 1 and ${left}` }] },
  );
}

/**
 * Asks the provider for the refund. A reply that is already final is applied at once; a refusal
 * in the request fails the refund; an unknown outcome leaves it processing (logged).
 */
async function sendToProvider(
  ctx: ServiceContext,
  payment: PaymentRow,
  refund: RefundRow,
): Promise<RefundRow> {
  try {
    if (payment.method === "pix") {
      const reply = await ctx.efi.refund({
        e2eId: payment.endToEndId ?? "",
        refundId: efiRefundIdOf(refund.id),
        amountCents: refund.amountCents,
      });
      await ctx.db
        .update(refunds)
        .set({ providerReference: reply.rtrId, updatedAt: ctx.now().toISOString() })
        .where(eq(refunds.id, refund.id));
      if (reply.status === "DEVOLVIDO") await settleRefund(ctx, refund.id, { status: "refunded" });
      if (reply.status === "NAO_REALIZADO") {
        await settleRefund(ctx, refund.id, { status: "failed", reason: reply.reason ?? "efi_nao_realizado" });
      }
    } else {
      await ctx.cards.refund({ chargeId: payment.cardChargeId ?? "", amountCents: refund.amountCents });
      await settleRefund(ctx, refund.id, { status: "refunded" });
    }
  } catch (error) {
    if (isRefusal(error)) {
      await settleRefund(ctx, refund.id, { status: "failed", reason: `efi_${error.code}` });
    } else {
      ctx.log.error("refund outcome unknown; it stays processing until the provider reports", {
        refund_id: refund.id,
        payment_id: payment.id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }
  return (await refundRow(ctx, refund.id)) ?? refund;
}

/**
 * A provider error that says the refund was not made: a 4xx, except a 409 (a refund with this id
 * exists at Efí: ours, from a try whose reply was lost).
 */
function isRefusal(error: unknown): error is EfiError {
  return (
    error instanceof EfiError &&
    !error.outcomeUnknown &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 409
  );
}

// ---------------------------------------------------------------------------------------------
// Outcome

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

/**
 * Reads a processing Pix refund back from Efí and applies its status when final; for a refund
 * whose webhook never came (and for tests against a sandbox that settles inline).
 */
export async function reconcileRefund(
  ctx: ServiceContext,
  refundId: string,
): Promise<RefundOutcomeResult | { status: "processing"; refund: RefundView }> {
  const row = await refundRow(ctx, refundId);
  const payment = row ? await paymentRow(ctx, row.paymentId) : undefined;
  if (!row || payment?.method !== "pix" || !payment.endToEndId) return { status: "unknown_refund" };
  if (row.status !== "processing") return { status: "already_applied", refund: refundView(row) };
  const efi = await ctx.efi.getRefund(payment.endToEndId, efiRefundIdOf(row.id));
  if (efi.status === "EM_PROCESSAMENTO") return { status: "processing", refund: refundView(row) };
  return applyRefundOutcome(ctx, {
    endToEndId: payment.endToEndId,
    refundId: row.id,
    status: efi.status,
    reason: efi.reason,
  });
}

type Outcome = { status: "refunded" } | { status: "failed"; reason: string };

const MAX_ATTEMPTS = 5;

/**
 * Moves a processing refund to its outcome, once. `failed` is one guarded update. `refunded` is
 * one batch: a guard that aborts it unless the refund is still processing and the payment's
 * refunded total is the one the driver part was computed from, the refund and payment rows, and
 * the posting `refund:<id>`. A concurrent call that wins makes this one re-read and report.
 */
async function settleRefund(
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

// ---------------------------------------------------------------------------------------------
// The entries

type RefundSource =
  /** A ride payment: its paid amount and the driver's share of it (0 when all was commission). */
  | { kind: "ride"; paidCents: number; driverId: string | null; driverCents: number }
  /** A driver's prepaid-credit top-up. */
  | { kind: "credit_topup"; driverId: string };

/**
 * What a refund takes back from whom, read from the payment's own posting: `ride:<id>:payment`
 * for a ride (its clearing line is what was paid, its driver `pending` line the driver's share).
 */
async function refundSource(ctx: ServiceContext, payment: PaymentRow): Promise<RefundSource> {
  if (payment.purpose === "credit_topup") return { kind: "credit_topup", driverId: payment.payerId };
  if (!payment.rideId) throw new Error(`ride payment ${payment.id} has no ride`);
  const entries = await ctx.db
    .select({ accountId: ledgerEntries.accountId, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
    .where(eq(ledgerTransactions.idempotencyKey, `ride:${payment.rideId}:payment`))
    .all();
  if (entries.length === 0) {
    throw new Error(`payment ${payment.id} is ${payment.status} but its ride's payment was never posted`);
  }
  let paidCents = 0;
  let driverId: string | null = null;
  let driverCents = 0;
  for (const entry of entries) {
    const ref = refOf(entry.accountId);
    if (ref.owner === "platform" && (ref.kind === "efi_clearing" || ref.kind === "card_clearing")) {
      paidCents += entry.amount;
    } else if (ref.owner === "driver" && ref.kind === "pending") {
      driverId = ref.ownerId;
      driverCents += -entry.amount;
    }
  }
  if (paidCents !== payment.amountCents) {
    throw new Error(`payment ${payment.id} of ${payment.amountCents} was posted as ${paidCents}`);
  }
  return { kind: "ride", paidCents, driverId, driverCents };
}

async function refundLines(ctx: ServiceContext, payment: PaymentRow, amount: number): Promise<PostingLine[]> {
  const source = await refundSource(ctx, payment);
  const lines: PostingLine[] = [{ account: platformAccount("efi_balance"), amount: -amount }];
  if (source.kind === "credit_topup") {
    lines.push({ account: driverAccount(source.driverId, "credit"), amount, enforceFloor: false });
    return lines;
  }
  const before = payment.refundedCents;
  const driverPart =
    source.driverId === null
      ? 0
      : driverShareOf(before + amount, source.driverCents, source.paidCents) -
        driverShareOf(before, source.driverCents, source.paidCents);
  if (driverPart > 0 && source.driverId !== null) {
    lines.push({
      account: driverAccount(source.driverId, "available"),
      amount: driverPart,
      enforceFloor: false,
    });
  }
  if (amount - driverPart > 0)
    lines.push({ account: platformAccount("revenue"), amount: amount - driverPart });
  return lines;
}

/**
 * The driver's part of `refundedCents` of a payment: refunded × driver share / paid, rounded half
 * up to a whole centavo in exact integer arithmetic (the commission's rule, `splitFare`).
 */
export function driverShareOf(refundedCents: number, driverCents: number, paidCents: number): number {
  if (paidCents <= 0) return 0;
  const numerator = BigInt(refundedCents) * BigInt(driverCents);
  const denominator = BigInt(paidCents);
  return Number((2n * numerator + denominator) / (2n * denominator));
}

// ---------------------------------------------------------------------------------------------
// Reads

async function paymentRow(ctx: ServiceContext, paymentId: string): Promise<PaymentRow | undefined> {
  return ctx.db.select().from(payments).where(eq(payments.id, paymentId)).get();
}

async function refundRow(ctx: ServiceContext, refundId: string): Promise<RefundRow | undefined> {
  return ctx.db.select().from(refunds).where(eq(refunds.id, refundId)).get();
}

async function processingCents(ctx: ServiceContext, paymentId: string): Promise<number> {
  const row = await ctx.db
    .select({ sum: sql<number | null>`sum(${refunds.amountCents})` })
    .from(refunds)
    .where(and(eq(refunds.paymentId, paymentId), eq(refunds.status, "processing")))
    .get();
  return row?.sum ?? 0;
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
