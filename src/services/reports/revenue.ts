import { sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { everyDate, type ReportRange, rowOf } from "./range";

export const REVENUE_METHODS = ["pix", "card", "cash"] as const;
type Method = (typeof REVENUE_METHODS)[number];

export interface RevenueReportRow {
  date: string;
  payment_method: Method;
  rides_paid: number;
  gross_fares_cents: number;
  cancellation_fees_cents: number;
  commission_cents: number;
  driver_earnings_cents: number;
  refunds_cents: number;
  revenue_cents: number;
}

interface LedgerBucket {
  hour: string;
  kind: string;
  ride_status: string;
  method: Method;
  account: string;
  amount: number;
  txns: number;
}

interface CashBucket {
  hour: string;
  rides: number;
  fares: number;
}

/**
 * Ride money of the city per local day and payment method, from the ledger, dated like the
 * ledger: a ride's payment or cash commission on the ride's end (its posting's `effective_at`), a
 * refund when the provider confirmed it.
 *
 * - Pix and card: `gross_fares_cents` (completed rides) and `cancellation_fees_cents` (cancelled
 *   ones) are what came into clearing; `commission_cents` what went to revenue and
 *   `driver_earnings_cents` to drivers' pending balances, so fares + fees = commission + earnings.
 *   A ride whose payment is not confirmed yet is not here.
 * - Cash: the fare is paid to the driver and never enters the ledger, so `gross_fares_cents` is
 *   the completed rides' `final_fare_cents`; the commission is the posting taken from the
 *   driver's credit, and earnings the rest.
 * - `refunds_cents` is what left through Efí for refunds of the day; `revenue_cents` is the net
 *   change of the platform's revenue account from the city's rides (commission less what refunds
 *   took back from it, and any reversal), so its sum over a day is the ledger's figure to the
 *   centavo. Payout fees are revenue too but belong to no city: they are in the payouts report.
 */
export async function revenueReport(ctx: ServiceContext, range: ReportRange): Promise<RevenueReportRow[]> {
  const { cityId, startUtc: start, endUtc: end } = range;
  const [ledger, cash] = await Promise.all([
    ctx.db.all<LedgerBucket>(sql`
      SELECT substr(t.effective_at, 1, 13) AS hour, t.kind AS kind, r.status AS ride_status,
        CASE WHEN t.kind = 'ride.cash_commission' THEN 'cash' ELSE COALESCE(p.method, r.payment_method) END AS method,
        a.kind AS account, SUM(e.amount) AS amount, COUNT(DISTINCT t.id) AS txns
      FROM ledger_transactions t
        JOIN rides r ON r.id = t.reference_id
        JOIN ledger_entries e ON e.transaction_id = t.id
        JOIN ledger_accounts a ON a.id = e.account_id
        LEFT JOIN payments p ON p.purpose = 'ride' AND p.ride_id = r.id
      WHERE t.reference_type = 'ride' AND r.city_id = ${cityId}
        AND t.effective_at >= ${start} AND t.effective_at < ${end}
      GROUP BY hour, t.kind, r.status, method, a.kind`),
    ctx.db.all<CashBucket>(sql`
      SELECT substr(completed_at, 1, 13) AS hour, COUNT(*) AS rides, SUM(final_fare_cents) AS fares
      FROM rides
      WHERE city_id = ${cityId} AND status = 'completed' AND payment_method = 'cash'
        AND completed_at >= ${start} AND completed_at < ${end}
      GROUP BY hour`),
  ]);

  const days = everyDate(range, (date) => ({
    pix: emptyRow(date, "pix"),
    card: emptyRow(date, "card"),
    cash: emptyRow(date, "cash"),
  }));
  for (const b of ledger) {
    const row = rowOf(range, days, b.hour)?.[b.method];
    if (!row) continue;
    if (b.account === "revenue") row.revenue_cents -= b.amount;
    if (b.kind === "ride.payment") {
      if (b.account === "efi_clearing" || b.account === "card_clearing") {
        if (b.ride_status === "completed") {
          row.gross_fares_cents += b.amount;
          row.rides_paid += b.txns;
        } else row.cancellation_fees_cents += b.amount;
      }
      if (b.account === "revenue") row.commission_cents -= b.amount;
      if (b.account === "pending") row.driver_earnings_cents -= b.amount;
    }
    if (b.kind === "ride.cash_commission" && b.account === "revenue") row.commission_cents -= b.amount;
    if (b.kind === "payment.refund" && b.account === "efi_balance") row.refunds_cents -= b.amount;
  }
  for (const b of cash) {
    const row = rowOf(range, days, b.hour)?.cash;
    if (!row) continue;
    row.rides_paid += b.rides;
    row.gross_fares_cents += b.fares;
  }
  return [...days.values()].flatMap((day) =>
    REVENUE_METHODS.map((method) => {
      const row = day[method];
      if (method === "cash") row.driver_earnings_cents = row.gross_fares_cents - row.commission_cents;
      return row;
    }),
  );
}

function emptyRow(date: string, method: Method): RevenueReportRow {
  return {
    date,
    payment_method: method,
    rides_paid: 0,
    gross_fares_cents: 0,
    cancellation_fees_cents: 0,
    commission_cents: 0,
    driver_earnings_cents: 0,
    refunds_cents: 0,
    revenue_cents: 0,
  };
}
