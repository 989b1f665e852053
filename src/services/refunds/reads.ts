import { and, eq, sql } from "drizzle-orm";
import { payments, refunds } from "../../db/schema";
import type { ServiceContext } from "../context";

export type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type RefundStatus = RefundRow["status"];

export async function paymentRow(ctx: ServiceContext, paymentId: string): Promise<PaymentRow | undefined> {
  return ctx.db.select().from(payments).where(eq(payments.id, paymentId)).get();
}

export async function refundRow(ctx: ServiceContext, refundId: string): Promise<RefundRow | undefined> {
  return ctx.db.select().from(refunds).where(eq(refunds.id, refundId)).get();
}

/** What the payment's refunds still processing add up to. */
export async function processingCents(ctx: ServiceContext, paymentId: string): Promise<number> {
  const row = await ctx.db
    .select({ sum: sql<number | null>`sum(${refunds.amountCents})` })
    .from(refunds)
    .where(and(eq(refunds.paymentId, paymentId), eq(refunds.status, "processing")))
    .get();
  return row?.sum ?? 0;
}
