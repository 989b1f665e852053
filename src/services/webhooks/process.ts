import { and, eq, inArray } from "drizzle-orm";
import { payments, payouts, rides, webhookEvents } from "../../db/schema";
import { EfiError, payoutIdOf } from "../../integrations/efi";
import { pixSendOutcome } from "../../integrations/efi/payout-rail";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { RideAlreadyPaidError, recordCreditTopup, recordRidePayment } from "../ledger/ride-postings";
import { walletOf } from "../ledger/wallet";
import { paymentIdOfTxid, paymentView } from "../payments/pix";
import { completePayout } from "../payouts/payouts";
import { applyRefundOutcome } from "../refunds/refunds";
import {
  readStoredItem,
  type StoredPixReceived,
  type StoredPixSent,
  type StoredRefund,
  type WebhookEventRow,
} from "./ingest";

// Efí's webhook items, the processing half (run by the payments queue consumer). A webhook is a
// hint: every item is confirmed by reading Efí's own record (the charge, the refund, the Pix
// send) and only Efí's answer moves money. Each stored item ends `processed` or `flagged` by one
// conditional UPDATE (`… WHERE status = 'received'`), so a redelivered message does nothing; the
// money steps under it are idempotent on their own (ledger keys, the payment's guarded UPDATE,
// the payout's single-outcome trigger), so two consumers racing on one item post once.

type PaymentRow = typeof payments.$inferSelect;

/** Reads of Efí that do not yet show what the webhook announced are retried this many times. */
export const CONFIRM_ATTEMPTS = 5;

export type ProcessOutcome =
  | { status: "processed" }
  | { status: "flagged"; detail: string }
  /** Already processed or flagged (a redelivery), or no such row. */
  | { status: "skipped" }
  /** Efí does not show it yet: try again later (the consumer retries with backoff). */
  | { status: "retry"; detail: string };

/**
 * Processes one stored webhook item. `attempts` is the queue delivery count (1 on the first):
 * once Efí has not confirmed an item after `CONFIRM_ATTEMPTS` deliveries it is flagged instead
 * of retried. Errors that may pass (Efí unreachable, D1) are thrown for the queue to retry.
 */
export async function processWebhookEvent(
  ctx: ServiceContext,
  eventId: string,
  options: { attempts: number },
): Promise<ProcessOutcome> {
  const row = await ctx.db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).get();
  if (row?.status !== "received") return { status: "skipped" };
  const item = readStoredItem(row);
  if (!item) return flag(ctx, row, "unreadable payload");
  switch (item.kind) {
    case "pix_received":
      return confirmReceivedPix(ctx, row, item, options.attempts);
    case "refund":
      return confirmRefund(ctx, row, item, options.attempts);
    case "pix_sent":
      return confirmPixSent(ctx, row, item, options.attempts);
  }
}

// ---------------------------------------------------------------------------------------------
// Received Pix: a ride payment or a credit top-up

async function confirmReceivedPix(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredPixReceived,
  attempts: number,
): Promise<ProcessOutcome> {
  if (!item.txid) return flag(ctx, row, "a Pix without txid: not a charge of ours");
  const payment = await paymentOfTxid(ctx, item.txid);
  if (!payment) return flag(ctx, row, `unknown txid ${item.txid}`);
  if (payment.method !== "pix") return flag(ctx, row, `payment ${payment.id} is not a Pix payment`);

  let charge: Awaited<ReturnType<typeof ctx.efi.getCharge>>;
  try {
    charge = await ctx.efi.getCharge(item.txid);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no charge ${item.txid}`);
    }
    throw error;
  }
  const pix = charge.payments.find((p) => p.e2eId === item.e2e_id);
  if (!pix) {
    return notYet(ctx, row, attempts, `Efí lists no Pix ${item.e2e_id} on charge ${item.txid}`);
  }
  if (pix.amountCents !== payment.amountCents || charge.amountCents !== payment.amountCents) {
    return flag(
      ctx,
      row,
      `amount mismatch: payment ${payment.id} is ${payment.amountCents}, the charge ${charge.amountCents}, the Pix ${pix.amountCents} centavos`,
    );
  }
  if (item.amount_cents !== pix.amountCents) {
    // The body said something else than Efí; Efí's record is what counts, but say so.
    ctx.log.warn("efi_webhook.body_disagrees", {
      event_id: row.id,
      body_cents: item.amount_cents,
      efi_cents: pix.amountCents,
    });
  }

  if (payment.endToEndId === item.e2e_id) return markProcessed(ctx, row); // applied before
  if (payment.endToEndId !== null || !["pending", "expired"].includes(payment.status)) {
    return paidTwice(ctx, row, payment);
  }

  const paidAt = validDate(pix.paidAt) ?? ctx.now();
  let transactionId: string;
  let driverId: string | null = null;
  try {
    if (payment.purpose === "ride") {
      if (!payment.rideId) return flag(ctx, row, `ride payment ${payment.id} has no ride`);
      const result = await recordRidePayment(ctx, {
        rideId: payment.rideId,
        method: "pix",
        amountCents: payment.amountCents,
        provider: "efi",
        providerReference: item.e2e_id,
        confirmedAt: paidAt,
      });
      transactionId = result.transactionId;
      const ride = await ctx.db
        .select({ driverId: rides.driverId })
        .from(rides)
        .where(eq(rides.id, payment.rideId))
        .get();
      driverId = ride?.driverId ?? null;
    } else {
      // One top-up per payment, whichever Pix pays it: the payment id is the ledger reference.
      const result = await recordCreditTopup(ctx, {
        driverId: payment.payerId,
        amountCents: payment.amountCents,
        providerReference: payment.id,
        confirmedAt: paidAt,
      });
      transactionId = result.transactionId;
      driverId = payment.payerId;
    }
  } catch (error) {
    if (error instanceof RideAlreadyPaidError) {
      return flag(
        ctx,
        row,
        `duplicate payment: ride ${error.rideId} was already paid (${error.recordedReference ?? error.transactionId}); refund ${item.e2e_id}`,
      );
    }
    if (error instanceof ApiError) return flag(ctx, row, `the ledger refused it: ${error.message}`);
    // A top-up posted by a racing other Pix of the same payment reads as "other content".
    const current = await paymentById(ctx, payment.id);
    if (current && current.endToEndId !== null && current.endToEndId !== item.e2e_id) {
      return paidTwice(ctx, row, current);
    }
    throw error;
  }

  const paid = await ctx.db
    .update(payments)
    .set({
      status: "paid",
      endToEndId: item.e2e_id,
      paidAt: paidAt.toISOString(),
      ledgerTransactionId: transactionId,
      updatedAt: ctx.now().toISOString(),
    })
    .where(and(eq(payments.id, payment.id), inArray(payments.status, ["pending", "expired"])))
    .returning()
    .get();
  if (!paid) {
    const current = await paymentById(ctx, payment.id);
    if (current?.endToEndId === item.e2e_id) return markProcessed(ctx, row); // a racing consumer
    if (current) return paidTwice(ctx, row, current);
    throw new Error(`payment ${payment.id} vanished`);
  }
  const outcome = await markProcessed(ctx, row);
  await announcePayment(ctx, paid, driverId);
  return outcome;
}

/** The payment a txid belongs to: by the row's current txid, else by the id the txid encodes. */
async function paymentOfTxid(ctx: ServiceContext, txid: string): Promise<PaymentRow | undefined> {
  const current = await ctx.db.select().from(payments).where(eq(payments.txid, txid)).get();
  if (current) return current;
  const id = paymentIdOfTxid(txid);
  return id ? paymentById(ctx, id) : undefined;
}

function paymentById(ctx: ServiceContext, id: string): Promise<PaymentRow | undefined> {
  return ctx.db.select().from(payments).where(eq(payments.id, id)).get();
}

/** A second Pix for a payment that is paid already (or no longer payable): a person refunds it. */
function paidTwice(ctx: ServiceContext, row: WebhookEventRow, payment: PaymentRow): Promise<ProcessOutcome> {
  const by = payment.endToEndId ? ` by ${payment.endToEndId}` : "";
  return flag(
    ctx,
    row,
    `duplicate payment: payment ${payment.id} is already ${payment.status}${by}; refund ${row.endToEndId}`,
  );
}

/** `payment.confirmed` to the payer (and the ride's sockets); `wallet.updated` to the driver. */
async function announcePayment(ctx: ServiceContext, paid: PaymentRow, driverId: string | null) {
  try {
    await ctx.publish(
      { type: "payment.confirmed", data: paymentView(paid, ctx.now()) },
      { ride: paid.rideId, users: [paid.payerId] },
    );
    if (driverId) {
      await ctx.publish(
        { type: "wallet.updated", data: await walletOf(ctx, driverId) },
        { users: [driverId] },
      );
    }
  } catch (error) {
    // The payment is durable; a lost event is a missed notification, not lost money.
    ctx.log.warn("efi_webhook.announce_failed", { payment_id: paid.id, error: String(error) });
  }
}

// ---------------------------------------------------------------------------------------------
// Refunds

async function confirmRefund(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredRefund,
  attempts: number,
): Promise<ProcessOutcome> {
  if (item.of === "sent") {
    return flag(
      ctx,
      row,
      `money came back from payout Pix ${item.id_envio ?? item.e2e_id} (refund ${item.refund_id}, ${item.amount_cents} centavos): for a person`,
    );
  }
  let refund: Awaited<ReturnType<typeof ctx.efi.getRefund>>;
  try {
    refund = await ctx.efi.getRefund(item.e2e_id, item.refund_id);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no refund ${item.refund_id} of ${item.e2e_id}`);
    }
    throw error;
  }
  if (refund.status === "EM_PROCESSAMENTO") {
    return notYet(ctx, row, attempts, `Efí still shows refund ${item.refund_id} in processing`);
  }
  const applied = await applyRefundOutcome(ctx, {
    endToEndId: item.e2e_id,
    refundId: item.refund_id,
    status: refund.status,
    reason: refund.reason,
  });
  switch (applied.status) {
    case "applied":
    case "already_applied":
      return markProcessed(ctx, row);
    case "unknown_refund":
      return flag(ctx, row, `refund ${item.refund_id} of ${item.e2e_id} is not one of ours`);
    case "conflict":
      return flag(
        ctx,
        row,
        `refund ${item.refund_id} is already ${applied.refund.status}; Efí now reports ${refund.status}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Pix sends (payouts)

async function confirmPixSent(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredPixSent,
  attempts: number,
): Promise<ProcessOutcome> {
  const payoutId = payoutIdOf(item.id_envio);
  const payout = payoutId
    ? await ctx.db.select().from(payouts).where(eq(payouts.id, payoutId)).get()
    : undefined;
  if (!payoutId || !payout) return flag(ctx, row, `unknown idEnvio ${item.id_envio}`);

  let send: Awaited<ReturnType<typeof ctx.efi.getPixSend>>;
  try {
    send = await ctx.efi.getPixSend(item.id_envio);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no Pix send ${item.id_envio}`);
    }
    throw error;
  }
  if (send.amountCents !== payout.amountCents) {
    return flag(
      ctx,
      row,
      `amount mismatch: payout ${payout.id} is ${payout.amountCents}, Efí sent ${send.amountCents} centavos`,
    );
  }
  const reason = item.error
    ? `efi_${item.error.code ?? "nao_realizado"}: ${item.error.reason ?? ""}`.trim().slice(0, 300)
    : undefined;
  const outcome = pixSendOutcome(send, reason);
  if (!outcome) return notYet(ctx, row, attempts, `Efí still shows Pix send ${item.id_envio} in processing`);

  if (payout.status === outcome.status) return markProcessed(ctx, row); // applied before
  if (payout.status !== "in_transit") {
    return flag(ctx, row, `payout ${payout.id} is already ${payout.status}; Efí now reports ${send.status}`);
  }
  let view: Awaited<ReturnType<typeof completePayout>>;
  try {
    view = await completePayout(ctx, payout.id, outcome);
  } catch (error) {
    const current = await ctx.db.select().from(payouts).where(eq(payouts.id, payout.id)).get();
    if (current && current.status !== "in_transit" && current.status !== outcome.status) {
      return flag(
        ctx,
        row,
        `payout ${payout.id} is already ${current.status}; Efí now reports ${send.status}`,
      );
    }
    throw error;
  }
  const processed = await markProcessed(ctx, row);
  try {
    if (view.status === "paid") {
      await ctx.publish({ type: "payout.paid", data: view }, { users: [payout.driverId] });
    } else {
      await ctx.publish(
        { type: "wallet.updated", data: await walletOf(ctx, payout.driverId) },
        { users: [payout.driverId] },
      );
    }
  } catch (error) {
    ctx.log.warn("efi_webhook.announce_failed", { payout_id: payout.id, error: String(error) });
  }
  return processed;
}

// ---------------------------------------------------------------------------------------------
// Row status

async function markProcessed(ctx: ServiceContext, row: WebhookEventRow): Promise<ProcessOutcome> {
  await settle(ctx, row, "processed", null);
  return { status: "processed" };
}

/** Flagged for a person (GET /v1/admin/payments/flagged); nothing was credited. */
async function flag(ctx: ServiceContext, row: WebhookEventRow, detail: string): Promise<ProcessOutcome> {
  const changed = await settle(ctx, row, "flagged", detail);
  if (changed) {
    ctx.log.error("efi_webhook.flagged", {
      event_id: row.id,
      kind: row.kind,
      e2e_id: row.endToEndId,
      detail,
    });
  }
  return { status: "flagged", detail };
}

function notYet(ctx: ServiceContext, row: WebhookEventRow, attempts: number, detail: string) {
  if (attempts >= CONFIRM_ATTEMPTS) {
    return flag(ctx, row, `not confirmed by Efí after ${attempts} attempts: ${detail}`);
  }
  return Promise.resolve<ProcessOutcome>({ status: "retry", detail });
}

async function settle(
  ctx: ServiceContext,
  row: WebhookEventRow,
  status: "processed" | "flagged",
  detail: string | null,
): Promise<boolean> {
  const changed = await ctx.db
    .update(webhookEvents)
    .set({ status, detail: detail?.slice(0, 1000) ?? null, processedAt: ctx.now().toISOString() })
    .where(and(eq(webhookEvents.id, row.id), eq(webhookEvents.status, "received")))
    .returning({ id: webhookEvents.id })
    .all();
  return changed.length > 0;
}

function validDate(text: string): Date | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}
