import { and, eq } from "drizzle-orm";
import { payments } from "../../db/schema";
import type { ServiceContext } from "../context";

export type PaymentRow = typeof payments.$inferSelect;

export async function paymentRow(ctx: ServiceContext, id: string): Promise<PaymentRow | undefined> {
  return ctx.db.select().from(payments).where(eq(payments.id, id)).get();
}

/** A ride's payment: at most one per ride (a partial unique index on `ride_id`). */
export async function ridePaymentRow(ctx: ServiceContext, rideId: string): Promise<PaymentRow | undefined> {
  return ctx.db
    .select()
    .from(payments)
    .where(and(eq(payments.rideId, rideId), eq(payments.purpose, "ride")))
    .get();
}
