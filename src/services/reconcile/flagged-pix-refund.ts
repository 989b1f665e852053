import { and, eq, ne, sql } from "drizzle-orm";
import { auditLogs, flaggedPixRefunds, payments, webhookEvents } from "../../db/schema";
import { EfiError } from "../../integrations/efi";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { efiRefundIdOf, refundIdOf } from "../refunds/ids";
import { readStoredItem } from "../webhooks/ingest";

// Refunding a received Pix that paid nothing of ours (flagged: a second Pix for a paid payment,
// a Pix for an expired and regenerated charge, an unknown txid). Its money reached our Efí
// account but never the ledger, so the refund posts nothing: it is Efí's devolução of the whole
// Pix, made by an admin (`POST /v1/admin/pix/{e2e_id}/refund`), audited, and settled by Efí's
// refund webhook or the reconciler like any devolução. At most one refund of a Pix is live
// (processing or refunded); one Efí refused (`failed`: refused in the request, or NAO_REALIZADO)
// moved nothing, so an admin may ask again, which is a new devolução under a new id.

export type FlaggedPixRefundRow = typeof flaggedPixRefunds.$inferSelect;

export interface FlaggedPixRefundView {
  id: string;
  end_to_end_id: string;
  amount_cents: number;
  status: FlaggedPixRefundRow["status"];
  provider_reference: string | null;
  failure_reason: string | null;
  requested_by: string | null;
  created_at: string;
  updated_at: string;
}

export function flaggedPixRefundView(row: FlaggedPixRefundRow): FlaggedPixRefundView {
  return {
    id: row.id,
    end_to_end_id: row.endToEndId,
    amount_cents: row.amountCents,
    status: row.status,
    provider_reference: row.providerReference,
    failure_reason: row.reason,
    requested_by: row.requestedBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** The Pix's live refund (processing or refunded), if any; the partial unique index allows one. */
const liveByE2e = (ctx: ServiceContext, e2eId: string) =>
  ctx.db
    .select()
    .from(flaggedPixRefunds)
    .where(and(eq(flaggedPixRefunds.endToEndId, e2eId), ne(flaggedPixRefunds.status, "failed")))
    .get();

const byId = (ctx: ServiceContext, id: string) =>
  ctx.db.select().from(flaggedPixRefunds).where(eq(flaggedPixRefunds.id, id)).get();

/** A refunded Pix answers its refund again; one still processing may yet be paid: 409. */
function answerLive(row: FlaggedPixRefundRow): FlaggedPixRefundView {
  if (row.status === "processing") {
    throw new ApiError(
      "refund_in_progress",
      `Refund ${row.id} of this Pix is awaiting Efí's outcome; ask again only if Efí refuses it`,
    );
  }
  return flaggedPixRefundView(row);
}

/**
 * Refunds a flagged received Pix in full. `not_found` unless a received Pix with this end-to-end
 * id was flagged; `payment_not_refundable` if a payment was credited with it (refund that payment
 * instead). A Pix already refunded answers that refund and changes nothing; one whose refund is
 * still processing (its outcome may be unknown) is `refund_in_progress`, so it is never refunded
 * twice; one whose earlier refunds all failed gets a new one.
 */
export async function refundFlaggedPix(
  ctx: ServiceContext,
  input: { endToEndId: string; actorId: string; reason?: string },
): Promise<FlaggedPixRefundView> {
  const existing = await liveByE2e(ctx, input.endToEndId);
  if (existing) return answerLive(existing);
  const row = await ctx.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.endToEndId, input.endToEndId), eq(webhookEvents.kind, "pix_received")))
    .get();
  const item = row ? readStoredItem(row) : null;
  if (row?.status !== "flagged" || item?.kind !== "pix_received") {
    throw new ApiError("not_found", "No flagged received Pix with this end-to-end id");
  }
  const credited = await ctx.db
    .select({ id: payments.id })
    .from(payments)
    .where(eq(payments.endToEndId, input.endToEndId))
    .get();
  if (credited) {
    throw new ApiError(
      "payment_not_refundable",
      `This Pix paid payment ${credited.id}: refund it through the payment's refund`,
    );
  }

  const now = ctx.now();
  const at = now.toISOString();
  const id = newId("rfd", now.getTime());
  const insert = ctx.db
    .insert(flaggedPixRefunds)
    .values({
      id,
      endToEndId: input.endToEndId,
      webhookEventId: row.id,
      amountCents: item.amount_cents,
      status: "processing",
      providerReference: null,
      reason: null,
      requestedBy: input.actorId,
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoNothing();
  // The audit row only if the refund row went in, in the same batch.
  const audit = ctx.db.insert(auditLogs).select(sql`
    SELECT ${newId("aud", now.getTime())}, ${input.actorId}, 'pix.refund_flagged', 'pix', ${input.endToEndId},
           ${JSON.stringify({ webhook_event_id: row.id, detail: row.detail })},
           ${JSON.stringify({ refund_id: id, amount_cents: item.amount_cents })},
           ${ctx.requestId}, ${input.reason ?? null}, ${at}
     WHERE EXISTS (SELECT 1 FROM flagged_pix_refunds WHERE id = ${id})`);
  await ctx.db.batch([insert, audit]);
  const mine = await byId(ctx, id);
  if (!mine) {
    // A concurrent request's refund took the Pix's one live slot.
    const winner = await liveByE2e(ctx, input.endToEndId);
    if (!winner) throw new Error(`flagged Pix refund of ${input.endToEndId} vanished`);
    return answerLive(winner);
  }

  try {
    const reply = await ctx.efi.refund({
      e2eId: input.endToEndId,
      refundId: efiRefundIdOf(id),
      amountCents: item.amount_cents,
    });
    await ctx.db
      .update(flaggedPixRefunds)
      .set({ providerReference: reply.rtrId, updatedAt: ctx.now().toISOString() })
      .where(eq(flaggedPixRefunds.id, id));
    if (reply.status !== "EM_PROCESSAMENTO") {
      await settleFlaggedPixRefund(ctx, id, reply.status, reply.reason);
    }
  } catch (error) {
    if (
      error instanceof EfiError &&
      !error.outcomeUnknown &&
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 409
    ) {
      await settleFlaggedPixRefund(ctx, id, "NAO_REALIZADO", `efi_${error.code}`);
    } else {
      ctx.log.error("flagged Pix refund outcome unknown; it stays processing", {
        refund_id: id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const final = await byId(ctx, id);
  return flaggedPixRefundView(final ?? mine);
}

/** Whether Efí's refund id names a flagged-Pix refund of ours; its row if so. */
export async function flaggedPixRefundOf(
  ctx: ServiceContext,
  efiRefundId: string,
): Promise<FlaggedPixRefundRow | undefined> {
  const id = refundIdOf(efiRefundId);
  if (!id) return undefined;
  return ctx.db.select().from(flaggedPixRefunds).where(eq(flaggedPixRefunds.id, id)).get();
}

/** Efí's final word on a flagged-Pix refund, applied once (guarded on `processing`). */
export async function settleFlaggedPixRefund(
  ctx: ServiceContext,
  id: string,
  status: "DEVOLVIDO" | "NAO_REALIZADO",
  reason?: string | null,
): Promise<"applied" | "already_applied" | "conflict"> {
  const target = status === "DEVOLVIDO" ? "refunded" : "failed";
  const changed = await ctx.db
    .update(flaggedPixRefunds)
    .set({
      status: target,
      reason: target === "failed" ? (reason ?? "efi_nao_realizado") : null,
      updatedAt: ctx.now().toISOString(),
    })
    .where(and(eq(flaggedPixRefunds.id, id), eq(flaggedPixRefunds.status, "processing")))
    .returning({ id: flaggedPixRefunds.id })
    .all();
  if (changed.length > 0) return "applied";
  const current = await ctx.db.select().from(flaggedPixRefunds).where(eq(flaggedPixRefunds.id, id)).get();
  return current?.status === target ? "already_applied" : "conflict";
}
