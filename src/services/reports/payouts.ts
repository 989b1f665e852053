import { sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { everyDate, mean, type ReportRange, rowOf } from "./range";

export interface PayoutReportRow {
  date: string;
  requested: number;
  amount_cents: number;
  fees_cents: number;
  paid: number;
  paid_amount_cents: number;
  failed: number;
  failed_amount_cents: number;
  in_transit: number;
  avg_seconds_to_paid: number | null;
}

interface Bucket {
  hour: string;
  status: "in_transit" | "paid" | "failed";
  n: number;
  amount: number;
  fees: number;
  to_paid_s: number | null;
}

/**
 * Drivers' Pix payouts per local day of the request, platform-wide (a payout belongs to a driver,
 * not a city; the city only gives the time zone). Each payout is counted on its request's day
 * with its outcome as of now; a failed payout's fee went back to the driver with its amount, so
 * `fees_cents` counts only payouts that did not fail, which is what revenue kept. The time to
 * paid runs from the request to the outcome (a payout's row changes once, at its outcome).
 */
export async function payoutsReport(ctx: ServiceContext, range: ReportRange): Promise<PayoutReportRow[]> {
  const buckets = await ctx.db.all<Bucket>(sql`
    SELECT substr(created_at, 1, 13) AS hour, status, COUNT(*) AS n, SUM(amount_cents) AS amount,
      SUM(fee_cents) AS fees,
      SUM(CASE WHEN status = 'paid' THEN (julianday(updated_at) - julianday(created_at)) * 86400 END) AS to_paid_s
    FROM payouts WHERE created_at >= ${range.startUtc} AND created_at < ${range.endUtc}
    GROUP BY hour, status`);
  const rows = everyDate(range, (date) => ({
    date,
    requested: 0,
    amount_cents: 0,
    fees_cents: 0,
    paid: 0,
    paid_amount_cents: 0,
    failed: 0,
    failed_amount_cents: 0,
    in_transit: 0,
    toPaidSeconds: 0,
  }));
  for (const b of buckets) {
    const row = rowOf(range, rows, b.hour);
    if (!row) continue;
    row.requested += b.n;
    row.amount_cents += b.amount;
    if (b.status === "paid") {
      row.paid += b.n;
      row.paid_amount_cents += b.amount;
      row.toPaidSeconds += b.to_paid_s ?? 0;
    } else if (b.status === "failed") {
      row.failed += b.n;
      row.failed_amount_cents += b.amount;
    } else row.in_transit += b.n;
    if (b.status !== "failed") row.fees_cents += b.fees;
  }
  return [...rows.values()].map(({ toPaidSeconds, ...row }) => ({
    ...row,
    avg_seconds_to_paid: mean(toPaidSeconds, row.paid),
  }));
}
