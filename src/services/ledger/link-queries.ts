import { type SQL, sql } from "drizzle-orm";
import { MAX_LISTED, type StuckKind } from "./invariants";

/**
 * The statements behind the invariants that tie the ledger to the rows it accounts for (payments,
 * refunds), to what must not stay stuck (payouts in transit, refunds processing, webhook items,
 * card payments), to drivers' debts and credit floors, and the holiday list the settlement
 * calendar runs on. They run in the same batch as the ledger's own (readInvariantRows).
 */
export interface LinkRows {
  paymentLinks: { id: string; status: string; problem: string; offending: number }[];
  refundLinks: { id: string; problem: string; offending: number }[];
  stuck: { what: StuckKind; count: number; oldest: string | null }[];
  debts: { id: string; balance: number; since: string; offending: number }[];
  creditFloors: { id: string; floor: number | null; configured: number; offending: number }[];
  holidays: { holidays: string }[];
  efiDays: { day: string; ledger: number; efi: number; offending: number }[];
}

/** ISO instants: anything of that kind older than its cutoff is stuck; a debt older than `debt`. */
export interface LinkCutoffs {
  stuck: Record<StuckKind, string>;
  debt: string;
}

const PAID = sql`('paid', 'partially_refunded', 'refunded')`;

export function linkQueries(cutoffs: LinkCutoffs): { [K in keyof LinkRows]: SQL } {
  return {
    // payment_posted: a paid payment has one posting, of its amount, which no other payment
    // claims; an unpaid one has none.
    paymentLinks: sql`
      SELECT id, status, problem, count(*) OVER () AS offending FROM (
        SELECT p.id, p.status,
               CASE
                 WHEN p.ledger_transaction_id IS NULL THEN 'paid without a posting'
                 WHEN t.id IS NULL THEN 'its posting ' || p.ledger_transaction_id || ' does not exist'
                 WHEN p.status NOT IN ${PAID} THEN 'posted but ' || p.status
                 WHEN s.payments > 1 THEN 'its posting ' || t.id || ' also serves another payment'
                 WHEN (SELECT coalesce(sum(amount), 0) FROM ledger_entries
                        WHERE transaction_id = t.id AND amount > 0) <> p.amount_cents
                   THEN 'its posting ' || t.id || ' is not for ' || p.amount_cents || ' centavos'
               END AS problem
          FROM payments p
          LEFT JOIN ledger_transactions t ON t.id = p.ledger_transaction_id
          LEFT JOIN (SELECT ledger_transaction_id, count(*) AS payments FROM payments
                      WHERE ledger_transaction_id IS NOT NULL GROUP BY ledger_transaction_id) s
            ON s.ledger_transaction_id = p.ledger_transaction_id
         WHERE p.status IN ${PAID} OR p.ledger_transaction_id IS NOT NULL)
       WHERE problem IS NOT NULL
       ORDER BY id LIMIT ${MAX_LISTED}`,
    // refunds_posted: a payment's refunded_cents is the sum of its confirmed refunds, and its
    // status says so; a confirmed refund has its posting, any other has none.
    refundLinks: sql`
      SELECT id, problem, count(*) OVER () AS offending FROM (
        SELECT p.id,
               CASE
                 WHEN p.refunded_cents <> coalesce(r.confirmed, 0)
                   THEN 'refunded_cents ' || p.refunded_cents || ' but confirmed refunds add up to ' || coalesce(r.confirmed, 0)
                 WHEN p.status = 'refunded' AND p.refunded_cents <> p.amount_cents
                   THEN 'refunded with ' || p.refunded_cents || ' of ' || p.amount_cents || ' back'
                 WHEN p.status = 'partially_refunded' AND NOT (p.refunded_cents BETWEEN 1 AND p.amount_cents - 1)
                   THEN 'partially_refunded with ' || p.refunded_cents || ' of ' || p.amount_cents || ' back'
                 WHEN p.refunded_cents > 0 AND p.status NOT IN ('refunded', 'partially_refunded')
                   THEN p.status || ' with ' || p.refunded_cents || ' refunded'
               END AS problem
          FROM payments p
          LEFT JOIN (SELECT payment_id, sum(amount_cents) AS confirmed FROM refunds
                      WHERE status = 'refunded' GROUP BY payment_id) r ON r.payment_id = p.id
         WHERE p.refunded_cents > 0 OR r.confirmed IS NOT NULL OR p.status IN ('refunded', 'partially_refunded')
        UNION ALL
        SELECT r.id,
               CASE WHEN r.status = 'refunded' THEN 'refunded without a posting' ELSE r.status || ' but posted' END
          FROM refunds r LEFT JOIN ledger_transactions t ON t.id = r.ledger_transaction_id
         WHERE (r.status = 'refunded' AND t.id IS NULL)
            OR (r.status <> 'refunded' AND r.ledger_transaction_id IS NOT NULL))
       WHERE problem IS NOT NULL
       ORDER BY id LIMIT ${MAX_LISTED}`,
    // nothing_stuck: how many of each waited past its limit, and since when.
    stuck: sql`
      SELECT 'payouts_in_transit' AS what, count(*) AS count, min(created_at) AS oldest
        FROM payouts WHERE status = 'in_transit' AND created_at < ${cutoffs.stuck.payouts_in_transit}
      UNION ALL
      SELECT 'refunds_processing', count(*), min(created_at)
        FROM refunds WHERE status = 'processing' AND created_at < ${cutoffs.stuck.refunds_processing}
      UNION ALL
      SELECT 'webhook_items_received', count(*), min(received_at)
        FROM webhook_events WHERE status = 'received' AND received_at < ${cutoffs.stuck.webhook_items_received}
      UNION ALL
      SELECT 'card_payments_pending', count(*), min(created_at)
        FROM payments WHERE status = 'pending' AND method = 'card' AND created_at < ${cutoffs.stuck.card_payments_pending}`,
    // driver_debt_aged: a driver's pending or available below 0 since before the cutoff. "Since"
    // is the first entry after the last one that left the balance at 0 or more.
    debts: sql`
      WITH debt AS (
        SELECT id, balance FROM ledger_accounts
         WHERE owner_type = 'driver' AND kind IN ('pending', 'available') AND balance < 0),
      runs AS (
        SELECT e.account_id, e.id, e.created_at,
               -sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id ROWS UNBOUNDED PRECEDING) AS running
          FROM ledger_entries e WHERE e.account_id IN (SELECT id FROM debt)),
      solvent AS (SELECT account_id, max(id) AS id FROM runs WHERE running >= 0 GROUP BY account_id)
      SELECT d.id, d.balance, min(r.created_at) AS since, count(*) OVER () AS offending
        FROM debt d
        JOIN runs r ON r.account_id = d.id
        LEFT JOIN solvent s ON s.account_id = d.id
       WHERE r.id > coalesce(s.id, 0)
       GROUP BY d.id, d.balance
      HAVING min(r.created_at) < ${cutoffs.debt}
       ORDER BY d.id LIMIT ${MAX_LISTED}`,
    // credit_floor_current: every driver credit account carries the configured credit floor.
    creditFloors: sql`
      SELECT id, floor, configured, count(*) OVER () AS offending FROM (
        SELECT a.id, a.floor, c.credit_floor_cents AS configured
          FROM ledger_accounts a JOIN settlement_config c ON c.id = 1
         WHERE a.owner_type = 'driver' AND a.kind = 'credit' AND a.floor IS NOT c.credit_floor_cents)
       ORDER BY id LIMIT ${MAX_LISTED}`,
    holidays: sql`SELECT holidays FROM settlement_config WHERE id = 1`,
    // clearing_matches_efi: what came into Pix clearing on a São Paulo day (UTC−3, no daylight
    // saving since 2019) is at most what Efí's statement lists as received that day. Only days
    // the reconciler recorded after they ended; less is allowed, since a Pix Efí received but we
    // did not credit (a duplicate, an unknown txid) is a flagged item for a person.
    efiDays: sql`
      SELECT day, ledger, efi, count(*) OVER () AS offending FROM (
        SELECT d.day, d.received_cents AS efi,
               coalesce((SELECT sum(e.amount) FROM ledger_entries e
                          WHERE e.account_id = 'platform:platform:efi_clearing' AND e.amount > 0
                            AND e.effective_at >= d.day || 'T03:00:00.000Z'
                            AND e.effective_at < date(d.day, '+1 day') || 'T03:00:00.000Z'), 0) AS ledger
          FROM efi_daily_totals d
         WHERE d.day < date(d.updated_at, '-3 hours'))
       WHERE ledger > efi
       ORDER BY day LIMIT ${MAX_LISTED}`,
  };
}
