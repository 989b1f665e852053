import { and, eq, inArray } from "drizzle-orm";
import { payments, rides } from "../../db/schema";
import { EfiError } from "../../integrations/efi";
import { paymentPoint } from "../../lib/metrics";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { RideAlreadyPaidError, recordCreditTopup, recordRidePayment } from "../ledger/ride-postings";
import { type PaymentRow, paymentRow } from "../payments/rows";
import { paymentIdOfTxid } from "../payments/txid";
import { paymentView } from "../payments/view";
import { walletOf } from "../wallet/balances";
import type { StoredPixReceived, WebhookEventRow } from "./ingest";
import { flag, markProcessed, notYet, type ProcessOutcome } from "./outcome";

// A received Pix: the payment of a ride or of a credit top-up. Efí's charge record, not the
// webhook body, decides whether and how much was paid; the ledger keys and the payment's guarded
// UPDATE make two consumers racing on one Pix post it once.

export async function confirmReceivedPix(
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
    const current = await paymentRow(ctx, payment.id);
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
    const current = await paymentRow(ctx, payment.id);
    if (current?.endToEndId === item.e2e_id) return markProcessed(ctx, row); // a racing consumer
    if (current) return paidTwice(ctx, row, current);
    throw new Error(`payment ${payment.id} vanished`);
  }
  const outcome = await markProcessed(ctx, row);
  const sinceWebhook = ctx.now().getTime() - Date.parse(row.receivedAt);
  ctx.metrics.record(paymentPoint("confirmed", paid, sinceWebhook));
  await announcePayment(ctx, paid, driverId);
  return outcome;
}

/** The payment a txid belongs to: by the row's current txid, else by the id the txid encodes. */
async function paymentOfTxid(ctx: ServiceContext, txid: string): Promise<PaymentRow | undefined> {
  const current = await ctx.db.select().from(payments).where(eq(payments.txid, txid)).get();
  if (current) return current;
  const id = paymentIdOfTxid(txid);
  return id ? paymentRow(ctx, id) : undefined;
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

function validDate(text: string): Date | null {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}
