import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { ServiceContext } from "../context";
import type { ClearingKind } from "../settlements/sweep";
import { ACCOUNT_KINDS, accountId, platformAccount } from "./accounts";
import { MAX_LISTED } from "./invariants";
import { type LinkCutoffs, type LinkRows, linkQueries } from "./link-queries";

/**
 * Driver kinds whose floor is the constant 0. `floor_respected` does not compare today's
 * balance with the floor: a line that records something that already happened (a MED clawback, a
 * reversal) is posted with enforce_floor = 0 and may legitimately take a driver into debt. It
 * replays each account's running balance instead and reports floor-enforcing entries that lowered
 * it below the floor, which the trigger refuses and only a write around it can produce, and
 * accounts whose stored floor was changed (an unguarded account).
 *
 * The driver `credit` account is left out: cash-ride commissions are taken from it with
 * enforce_floor = 0 (the ride already happened), so below-floor balances are normal there, and
 * its floor is a setting (settlement_config.credit_floor_cents) copied onto the account when it
 * is opened, so history cannot be judged against today's value. Its floor gates accepting rides,
 * which the ride service checks.
 */
const FLOORED_KINDS = (["pending", "available"] as const).filter(
  (kind) => ACCOUNT_KINDS.driver[kind].floor === 0,
);

/** The payouts-in-transit account whose balance `payout_consistent` compares. */
export const IN_TRANSIT_ACCOUNT = accountId(platformAccount("payouts_in_transit"));

/** Rows that offend carry `offending`: the total count, beside the first MAX_LISTED of them. */
export interface InvariantRows extends LinkRows {
  globalSum: { total: number; entries: number }[];
  unbalanced: { id: string; entries: number; total: number; offending: number }[];
  cached: { id: string; balance: number; natural: number; offending: number }[];
  unguarded: { id: string; floor: number | null; offending: number }[];
  overdrawn: {
    entry_id: number;
    account_id: string;
    transaction_id: string;
    running: number;
    offending: number;
  }[];
  clearing: { id: string; kind: ClearingKind; balance: number; settled_in: number; went_out: number }[];
  settlementRows: {
    id: string;
    status: string;
    source_found: number;
    release_transaction_id: string | null;
    release_found: number;
    offending: number;
  }[];
  settlementCover: { driver_id: string; scheduled: number; pending: number; offending: number }[];
  payoutTotal: { payouts: number; in_transit: number; balance: number }[];
  payoutRows: {
    id: string;
    status: string;
    request_found: number;
    outcome_transaction_id: string | null;
    outcome_found: number;
    offending: number;
  }[];
}

/**
 * Reads what every invariant needs from one consistent snapshot: every query runs in one D1
 * batch (one implicit transaction), so a posting landing mid-check cannot make two answers
 * disagree. Each invariant is one aggregate statement (GROUP BY or a window), never one statement
 * per account: the check costs the same seventeen statements whatever the size of the ledger.
 * `cutoffs` are the ISO instants up to which each clearing account must have been swept;
 * `links` the ones past which a payout, refund, webhook item, card payment or debt is stuck.
 */
export async function readInvariantRows(
  ctx: ServiceContext,
  cutoffs: Record<ClearingKind, string>,
  links: LinkCutoffs,
): Promise<InvariantRows> {
  const linked = linkQueries(links);
  const clearingKinds = Object.keys(cutoffs) as ClearingKind[];
  /** An entry's amount in its account's natural sign (c: the account, e: the entry). */
  const natural = sql`(CASE c.normal_side WHEN 'debit' THEN e.amount ELSE -e.amount END)`;
  const flooredKinds = sql.join(
    FLOORED_KINDS.map((kind) => sql`${kind}`),
    sql`, `,
  );
  const [
    globalSum,
    unbalanced,
    cached,
    unguarded,
    overdrawn,
    clearing,
    settlementRows,
    settlementCover,
    payoutTotal,
    payoutRows,
    paymentLinks,
    refundLinks,
    stuck,
    debts,
    creditFloors,
    holidays,
    efiDays,
  ] = await readInOneBatch(ctx, [
    // global_sum_zero
    rows<InvariantRows["globalSum"][number]>(
      sql`SELECT coalesce(sum(amount), 0) AS total, count(*) AS entries FROM ledger_entries`,
    ),
    // transaction_balanced: a LEFT JOIN, so a transaction without entries is caught too.
    rows<InvariantRows["unbalanced"][number]>(sql`
      SELECT id, entries, total, count(*) OVER () AS offending FROM (
        SELECT t.id, count(e.id) AS entries, coalesce(sum(e.amount), 0) AS total
          FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
         GROUP BY t.id
        HAVING count(e.id) < 2 OR coalesce(sum(e.amount), 0) <> 0)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // cached_balance_matches: natural sum = sum(amount) when debit-normal, -sum(amount) when credit-normal.
    rows<InvariantRows["cached"][number]>(sql`
      SELECT id, balance, natural, count(*) OVER () AS offending FROM (
        SELECT a.id, a.balance,
               CASE a.normal_side WHEN 'debit' THEN coalesce(s.total, 0) ELSE -coalesce(s.total, 0) END AS natural
          FROM ledger_accounts a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) s
            ON s.account_id = a.id)
       WHERE balance <> natural
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // floor_respected (1): a floored account whose stored floor is not 0 is unguarded.
    rows<InvariantRows["unguarded"][number]>(sql`
      SELECT id, floor, count(*) OVER () AS offending FROM ledger_accounts
       WHERE owner_type = 'driver' AND kind IN (${flooredKinds}) AND (floor IS NULL OR floor <> 0)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // floor_respected (2): replay each floored account's running balance in entry order, as the
    // trigger saw it, and find floor-enforcing entries that lowered it below 0.
    rows<InvariantRows["overdrawn"][number]>(sql`
      SELECT entry_id, account_id, transaction_id, running, count(*) OVER () AS offending FROM (
        SELECT e.id AS entry_id, e.account_id, e.transaction_id, e.enforce_floor,
               CASE a.normal_side WHEN 'debit' THEN e.amount ELSE -e.amount END AS delta,
               sum(CASE a.normal_side WHEN 'debit' THEN e.amount ELSE -e.amount END)
                 OVER (PARTITION BY e.account_id ORDER BY e.id ROWS UNBOUNDED PRECEDING) AS running
          FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
         WHERE a.owner_type = 'driver' AND a.kind IN (${flooredKinds}))
       WHERE enforce_floor = 1 AND delta < 0 AND running < 0
       ORDER BY entry_id LIMIT ${MAX_LISTED}`),
    // clearing_settled: per clearing account, what came in up to its cutoff, what ever went out.
    rows<InvariantRows["clearing"][number]>(sql`
      WITH clearing AS (
        SELECT id, kind, balance, normal_side,
               CASE kind ${sql.join(
                 clearingKinds.map((kind) => sql`WHEN ${kind} THEN ${cutoffs[kind]}`),
                 sql` `,
               )} END AS cutoff
          FROM ledger_accounts
         WHERE owner_type = 'platform' AND kind IN (${sql.join(
           clearingKinds.map((kind) => sql`${kind}`),
           sql`, `,
         )}))
      SELECT c.id, c.kind, c.balance,
             coalesce(sum(CASE WHEN ${natural} > 0 AND e.effective_at <= c.cutoff THEN ${natural} END), 0)
               AS settled_in,
             coalesce(sum(CASE WHEN ${natural} < 0 THEN -${natural} END), 0) AS went_out
        FROM clearing c LEFT JOIN ledger_entries e ON e.account_id = c.id
       GROUP BY c.id ORDER BY c.id`),
    // settlement_consistent (1): each settlement's postings exist.
    rows<InvariantRows["settlementRows"][number]>(sql`
      SELECT id, status, source_found, release_transaction_id, release_found, count(*) OVER () AS offending FROM (
        SELECT s.id, s.status, s.release_transaction_id,
               src.id IS NOT NULL AS source_found, rel.id IS NOT NULL AS release_found
          FROM settlements s
          LEFT JOIN ledger_transactions src ON src.id = s.source_transaction_id
          LEFT JOIN ledger_transactions rel ON rel.id = s.release_transaction_id)
       WHERE NOT source_found
          OR (status = 'released' AND NOT release_found)
          OR (status = 'scheduled' AND release_transaction_id IS NOT NULL)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // settlement_consistent (2): a driver's pending balance is exactly what is scheduled for
    // release: every pending credit schedules its settlement in the same batch, every release
    // moves its amount out, so anything else was written around them.
    rows<InvariantRows["settlementCover"][number]>(sql`
      SELECT driver_id, scheduled, pending, count(*) OVER () AS offending FROM (
        SELECT a.owner_id AS driver_id, coalesce(s.scheduled, 0) AS scheduled, a.balance AS pending
          FROM ledger_accounts a
          LEFT JOIN (SELECT driver_id, sum(amount_cents) AS scheduled FROM settlements
                      WHERE status = 'scheduled' GROUP BY driver_id) s ON s.driver_id = a.owner_id
         WHERE a.owner_type = 'driver' AND a.kind = 'pending'
        UNION ALL
        SELECT s.driver_id, sum(s.amount_cents), 0 FROM settlements s
         WHERE s.status = 'scheduled'
           AND NOT EXISTS (SELECT 1 FROM ledger_accounts a
                            WHERE a.owner_type = 'driver' AND a.owner_id = s.driver_id AND a.kind = 'pending')
         GROUP BY s.driver_id)
       WHERE scheduled <> pending
       ORDER BY driver_id LIMIT ${MAX_LISTED}`),
    // payout_consistent (1): payouts in transit against the platform's in-transit balance.
    rows<InvariantRows["payoutTotal"][number]>(sql`
      SELECT count(*) AS payouts, coalesce(sum(amount_cents), 0) AS in_transit,
             coalesce((SELECT balance FROM ledger_accounts WHERE id = ${IN_TRANSIT_ACCOUNT}), 0) AS balance
        FROM payouts WHERE status = 'in_transit'`),
    // payout_consistent (2): each payout's postings exist; a finished payout has its outcome posted.
    rows<InvariantRows["payoutRows"][number]>(sql`
      SELECT id, status, request_found, outcome_transaction_id, outcome_found, count(*) OVER () AS offending FROM (
        SELECT p.id, p.status, p.outcome_transaction_id,
               req.id IS NOT NULL AS request_found, res.id IS NOT NULL AS outcome_found
          FROM payouts p
          LEFT JOIN ledger_transactions req ON req.id = p.request_transaction_id
          LEFT JOIN ledger_transactions res ON res.id = p.outcome_transaction_id)
       WHERE NOT request_found
          OR (status IN ('paid', 'failed') AND NOT outcome_found)
          OR (status = 'in_transit' AND outcome_transaction_id IS NOT NULL)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    rows<LinkRows["paymentLinks"][number]>(linked.paymentLinks),
    rows<LinkRows["refundLinks"][number]>(linked.refundLinks),
    rows<LinkRows["stuck"][number]>(linked.stuck),
    rows<LinkRows["debts"][number]>(linked.debts),
    rows<LinkRows["creditFloors"][number]>(linked.creditFloors),
    rows<LinkRows["holidays"][number]>(linked.holidays),
    rows<LinkRows["efiDays"][number]>(linked.efiDays),
  ]);
  return {
    globalSum,
    unbalanced,
    cached,
    unguarded,
    overdrawn,
    clearing,
    settlementRows,
    settlementCover,
    payoutTotal,
    payoutRows,
    paymentLinks,
    refundLinks,
    stuck,
    debts,
    creditFloors,
    holidays,
    efiDays,
  };
}

/** A read statement and the shape of its rows. */
interface RowsQuery<T> {
  query: SQL;
  readonly row?: T;
}

const rows = <T>(query: SQL): RowsQuery<T> => ({ query });

/**
 * Runs read statements in one D1 batch, which D1 runs as one transaction: every answer comes from
 * the same state of the database. (drizzle's `db.batch` cannot take raw SQL with parameters.)
 */
async function readInOneBatch<T extends unknown[]>(
  ctx: ServiceContext,
  queries: [...{ [K in keyof T]: RowsQuery<T[K]> }],
): Promise<{ [K in keyof T]: T[K][] }> {
  const dialect = new SQLiteAsyncDialect();
  const d1 = ctx.db.$client;
  const statements = queries.map(({ query }) => {
    const built = dialect.sqlToQuery(query);
    return d1.prepare(built.sql).bind(...built.params);
  });
  const results = await d1.batch(statements);
  return results.map((result) => result.results) as { [K in keyof T]: T[K][] };
}
