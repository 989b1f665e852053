import { eq } from "drizzle-orm";
import { efiDailyTotals } from "../../db/schema";
import type { EfiPixSend, EfiReceivedPix } from "../../integrations/efi";
import { businessDateOf } from "../../lib/business-days";
import type { ServiceContext } from "../context";

// What Efí's own lists say came in and went out, per São Paulo day, so the ledger can be compared with Efí's
// own figures rather than with itself. Rewritten by each reconcile run from the statement it read
// (the whole day is in its window), so a late Pix or refund shows up on the next run.

export interface EfiDayTotals {
  /** São Paulo date, YYYY-MM-DD. */
  day: string;
  /** Sum of every Pix Efí lists as received on our key that day. */
  receivedCents: number;
  receivedCount: number;
  /** Of those Pix, what Efí shows as refunded (devoluções `DEVOLVIDO`). */
  refundedCents: number;
  /** Pix we sent (payouts) that Efí shows settled (`REALIZADO`) that day, by settlement time. */
  sentCents: number;
  sentCount: number;
  /** When a reconcile run last wrote the figures. */
  updatedAt: string;
}

/** Efí's totals of a São Paulo day, as the last reconcile run read them; null if none did. */
export async function efiTotalsOfDay(ctx: ServiceContext, day: string): Promise<EfiDayTotals | null> {
  const row = await ctx.db.select().from(efiDailyTotals).where(eq(efiDailyTotals.day, day)).get();
  return row ?? null;
}

type DaySums = Omit<EfiDayTotals, "day" | "updatedAt">;
const empty = (): DaySums => ({
  receivedCents: 0,
  receivedCount: 0,
  refundedCents: 0,
  sentCents: 0,
  sentCount: 0,
});

/** Sums Efí's lists per São Paulo day. Only days wholly inside the lists' windows are complete. */
export function totalsByDay(received: EfiReceivedPix[], sent: EfiPixSend[]): Map<string, DaySums> {
  const days = new Map<string, DaySums>();
  const of = (at: string) => {
    const day = businessDateOf(new Date(at));
    const sum = days.get(day) ?? empty();
    days.set(day, sum);
    return sum;
  };
  for (const p of received) {
    const sum = of(p.paidAt);
    sum.receivedCents += p.amountCents;
    sum.receivedCount += 1;
    for (const r of p.refunds) if (r.status === "DEVOLVIDO") sum.refundedCents += r.amountCents;
  }
  for (const s of sent) {
    const at = s.settledAt ?? s.requestedAt;
    if (s.status !== "REALIZADO" || !at) continue;
    const sum = of(at);
    sum.sentCents += s.amountCents;
    sum.sentCount += 1;
  }
  return days;
}

/** Writes each day's totals (replacing what an earlier run wrote). */
export async function storeTotals(
  ctx: ServiceContext,
  days: string[],
  totals: Map<string, DaySums>,
): Promise<void> {
  const updatedAt = ctx.now().toISOString();
  for (const day of days) {
    const sum = totals.get(day) ?? empty();
    await ctx.db
      .insert(efiDailyTotals)
      .values({ day, ...sum, updatedAt })
      .onConflictDoUpdate({ target: efiDailyTotals.day, set: { ...sum, updatedAt } });
  }
}
