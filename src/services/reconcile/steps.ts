import { and, asc, eq, gt, inArray, lt } from "drizzle-orm";
import { flaggedPixRefunds, payments, payouts, refunds, webhookEvents } from "../../db/schema";
import { EfiError, idEnvioOf } from "../../integrations/efi";
import { businessDateOf } from "../../lib/business-days";
import type { ServiceContext } from "../context";
import { reconcileCardPayment } from "../payments/card/reconcile";
import { completePayout } from "../payouts/complete";
import { efiRefundIdOf } from "../refunds/ids";
import { reconcileRefund } from "../refunds/reconcile";
import { processWebhookEvent } from "../webhooks/process";
import { settleFlaggedPixRefund } from "./flagged-pix-refund";
import { receivedItemOf, sentItemOf, settledReceived, storeAndProcess } from "./items";
import { storeTotals, totalsByDay } from "./totals";

// The reconciler's steps. Each asks Efí about what we still hold as undecided, older than a
// threshold (younger ones are in flight: their webhook or reply is on its way), and applies the
// answer through the code the webhook uses. Each is bounded per run; the next run takes the rest.

/** Undecided for this long before the reconciler asks Efí. */
export const RECONCILE_AFTER_MS = {
  pixCharge: 5 * 60_000,
  storedItem: 10 * 60_000,
  payout: 15 * 60_000,
  refund: 15 * 60_000,
  card: 10 * 60_000,
} as const;
/** How far back pending Pix charges and undecided card payments are looked at. */
const LOOKBACK_MS = 3 * 24 * 3600_000;
const PER_STEP = 50;

export type StepCounts = Record<string, number>;

const bump = (counts: StepCounts, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Stored webhook items never processed (their message lost or dead-lettered): processed now. */
export async function unprocessedItems(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const rows = await ctx.db
    .select({ id: webhookEvents.id })
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.status, "received"),
        lt(webhookEvents.receivedAt, new Date(now.getTime() - RECONCILE_AFTER_MS.storedItem).toISOString()),
      ),
    )
    .orderBy(asc(webhookEvents.id))
    .limit(PER_STEP)
    .all();
  for (const row of rows) bump(counts, (await processWebhookEvent(ctx, row.id, { attempts: 1 })).status);
  return counts;
}

/** Pix charges still pending (or expired) a while after creation: `GET /v2/cob/:txid`, each Pix applied. */
export async function pendingPixCharges(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const rows = await ctx.db
    .select({ id: payments.id, txid: payments.txid })
    .from(payments)
    .where(
      and(
        eq(payments.method, "pix"),
        inArray(payments.status, ["pending", "expired"]),
        lt(payments.createdAt, new Date(now.getTime() - RECONCILE_AFTER_MS.pixCharge).toISOString()),
        gt(payments.createdAt, new Date(now.getTime() - LOOKBACK_MS).toISOString()),
      ),
    )
    .orderBy(asc(payments.id))
    .limit(PER_STEP * 4)
    .all();
  for (const row of rows) {
    if (!row.txid) continue;
    let charge: Awaited<ReturnType<typeof ctx.efi.getCharge>>;
    try {
      charge = await ctx.efi.getCharge(row.txid);
    } catch (error) {
      if (error instanceof EfiError && error.notFound) {
        bump(counts, "charge_unknown_at_efi");
        continue;
      }
      throw error;
    }
    if (charge.payments.length === 0) bump(counts, "unpaid");
    for (const pix of charge.payments) {
      bump(counts, (await storeAndProcess(ctx, receivedItemOf(pix, ctx.efi.pixKey))).status);
    }
  }
  return counts;
}

/**
 * Efí's statement of received Pix from the start of yesterday (São Paulo) to now: every Pix not
 * yet settled goes through the webhook's processing (an unknown txid, a second Pix for a paid
 * payment, an amount mismatch: flagged for an admin to refund). Yesterday's and today's totals
 * (received, and sent from `GET /v2/gn/pix/enviados`) are stored as Efí reports them.
 */
export async function statement(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const today = businessDateOf(now);
  const startOfToday = new Date(`${today}T00:00:00-03:00`);
  const yesterday = businessDateOf(new Date(startOfToday.getTime() - 12 * 3600_000));
  const from = new Date(`${yesterday}T00:00:00-03:00`);
  const pix = await ctx.efi.listReceivedPix(from, now);
  counts.listed = pix.length;
  const settled = await settledReceived(
    ctx,
    pix.map((p) => p.e2eId),
  );
  for (const p of pix) {
    if (settled.has(p.e2eId)) continue;
    bump(counts, (await storeAndProcess(ctx, receivedItemOf(p, ctx.efi.pixKey))).status);
  }
  // Sends requested a day earlier may settle inside the window: list from the day before.
  const sent = await ctx.efi.listSentPix(new Date(from.getTime() - 24 * 3600_000), now);
  counts.sent_listed = sent.length;
  await storeTotals(ctx, [yesterday, today], totalsByDay(pix, sent));
  return counts;
}

/** Payouts in transit beyond the threshold: the send read back by idEnvio and its outcome applied. */
export async function payoutsInTransit(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const rows = await ctx.db
    .select()
    .from(payouts)
    .where(
      and(
        eq(payouts.status, "in_transit"),
        eq(payouts.rail, "efi"),
        lt(payouts.createdAt, new Date(now.getTime() - RECONCILE_AFTER_MS.payout).toISOString()),
      ),
    )
    .orderBy(asc(payouts.id))
    .limit(PER_STEP)
    .all();
  for (const payout of rows) {
    const idEnvio = idEnvioOf(payout.id);
    let send: Awaited<ReturnType<typeof ctx.efi.getPixSend>>;
    try {
      send = await ctx.efi.getPixSend(idEnvio);
    } catch (error) {
      if (error instanceof EfiError && error.notFound) {
        // Efí holds no send with our idEnvio long after we asked: it never reached Efí, and the
        // idEnvio is ours alone, so it cannot arrive later. The money goes back to the driver.
        await completePayout(ctx, payout.id, { status: "failed", reason: "efi_envio_nao_encontrado" });
        bump(counts, "failed_unknown_at_efi");
        continue;
      }
      throw error;
    }
    const item = sentItemOf(send);
    if (!item) {
      bump(counts, "still_processing");
      continue;
    }
    bump(counts, (await storeAndProcess(ctx, item)).status);
  }
  return counts;
}

/**
 * Pix refunds still processing beyond the threshold (of payments, and of flagged Pix): their
 * devolução read back and applied.
 */
export async function processingRefunds(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const rows = await ctx.db
    .select({ id: refunds.id })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(
      and(
        eq(refunds.status, "processing"),
        eq(payments.method, "pix"),
        lt(refunds.createdAt, new Date(now.getTime() - RECONCILE_AFTER_MS.refund).toISOString()),
      ),
    )
    .orderBy(asc(refunds.id))
    .limit(PER_STEP)
    .all();
  for (const row of rows) {
    try {
      bump(counts, (await reconcileRefund(ctx, row.id)).status);
    } catch (error) {
      // Efí holds no such devolução: the request never reached it; a person decides.
      if (error instanceof EfiError && error.notFound) bump(counts, "unknown_at_efi");
      else throw error;
    }
  }
  const before = new Date(now.getTime() - RECONCILE_AFTER_MS.refund).toISOString();
  const flagged = await ctx.db
    .select()
    .from(flaggedPixRefunds)
    .where(and(eq(flaggedPixRefunds.status, "processing"), lt(flaggedPixRefunds.createdAt, before)))
    .orderBy(asc(flaggedPixRefunds.id))
    .limit(PER_STEP)
    .all();
  for (const row of flagged) {
    try {
      const efi = await ctx.efi.getRefund(row.endToEndId, efiRefundIdOf(row.id));
      if (efi.status === "EM_PROCESSAMENTO") bump(counts, "processing");
      else bump(counts, await settleFlaggedPixRefund(ctx, row.id, efi.status, efi.reason));
    } catch (error) {
      if (error instanceof EfiError && error.notFound) bump(counts, "unknown_at_efi");
      else throw error;
    }
  }
  return counts;
}

/** Card payments pending (undecided, or `outcome_unknown`) beyond the threshold: looked up at the provider. */
export async function undecidedCards(ctx: ServiceContext, now: Date): Promise<StepCounts> {
  const counts: StepCounts = {};
  const rows = await ctx.db
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.method, "card"),
        eq(payments.status, "pending"),
        lt(payments.updatedAt, new Date(now.getTime() - RECONCILE_AFTER_MS.card).toISOString()),
        gt(payments.updatedAt, new Date(now.getTime() - LOOKBACK_MS).toISOString()),
      ),
    )
    .orderBy(asc(payments.id))
    .limit(PER_STEP)
    .all();
  for (const payment of rows) {
    const result = await reconcileCardPayment(ctx, payment);
    bump(counts, result.status === "applied" ? result.payment.status : "ignored");
  }
  return counts;
}
