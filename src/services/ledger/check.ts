import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { ServiceContext } from "../context";
import { CLEARING_SWEEPS, type ClearingKind } from "../settlements/settlements";
import { ACCOUNT_KINDS, accountId, platformAccount } from "./postings";

/**
 * The ledger's invariants (DESIGN.md, Money), checked together from one consistent snapshot:
 * every query runs in one D1 batch (one implicit transaction), so a posting landing mid-check
 * cannot make two answers disagree. Each invariant is one aggregate statement (GROUP BY or a
 * window), never one statement per account: the check costs the same ten statements whatever
 * the size of the ledger. It is run nightly by cron, served at GET /v1/admin/ledger/check, and
 * asserted at the end of every money test (`expectLedgerConsistent()`).
 *
 * The names are stable: dashboards, alerts and tests match on them.
 */
export const LEDGER_INVARIANTS = [
  /** The sum of every entry of the ledger is 0. */
  "global_sum_zero",
  /** Each transaction has two entries or more, summing to 0. */
  "transaction_balanced",
  /** Each account's cached `balance` equals the natural sum of its entries. */
  "cached_balance_matches",
  /** No floor-enforcing entry ever left a driver's pending or available balance below 0. */
  "floor_respected",
  /** Pix and card clearing hold nothing older than their settlement window, and never less than 0. */
  "clearing_settled",
  /** Released settlements were posted; scheduled ones are covered by the driver's pending balance. */
  "settlement_consistent",
  /** Payouts in transit add up to the platform's payouts-in-transit balance. */
  "payout_consistent",
] as const;

export type LedgerInvariant = (typeof LEDGER_INVARIANTS)[number];

export interface LedgerBreach {
  invariant: LedgerInvariant;
  detail: string;
}

export interface LedgerCheckReport {
  ok: boolean;
  checked_at: string;
  breaches: LedgerBreach[];
}

/**
 * `clearing_settled` follows the nightly sweep (CLEARING_SWEEPS in ./settlements): one aggregate
 * posting per clearing account and business date moves what came in before the account's window
 * into the Efí balance. So the check is not per payment but per account: money that came in
 * (natural increases) effective at or before `now − window` must be matched by what has left
 * (natural decreases, effective at any time: sweeps, refunds):
 *
 *     in(effective ≤ cutoff) − out(all) ≤ 0
 *
 * which is the balance as of the cutoff minus the outflows since; the sweep's own `clearingDue`
 * reads the account the same way. A clearing balance below 0 (more left than came in) is a
 * breach too: a sweep took money that never arrived.
 *
 * The check's window is the sweep's plus CLEARING_GRACE_DAYS (Pix 0 + 2 days, card 30 + 2): a
 * missed nightly run, which the nightly job reports on its own, or a check made just before
 * tonight's run, is not a ledger breach; money still in clearing two days past its sweep is.
 */
export const CLEARING_GRACE_DAYS = 2;

export const CLEARING_WINDOW_DAYS = Object.fromEntries(
  Object.entries(CLEARING_SWEEPS).map(([kind, sweep]) => [kind, sweep.windowDays + CLEARING_GRACE_DAYS]),
) as Record<ClearingKind, number>;

export interface LedgerCheckOptions {
  /** The moment of the check (default: the context's clock). */
  now?: Date;
  /** Overrides of CLEARING_WINDOW_DAYS, in days. */
  clearingWindows?: Partial<Record<ClearingKind, number>>;
}

const CLEARING_KINDS = Object.keys(CLEARING_SWEEPS) as ClearingKind[];

/** At most this many offending rows are named per breach; the breach also gives the total count. */
export const MAX_LISTED = 20;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Driver kinds whose floor is the design's constant 0. `floor_respected` does not compare today's
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

/**
 * Verifies every invariant and reports the breaches; `ok` is true when there are none.
 * It only reads, so it is safe to run at any time and any number of times.
 */
export async function checkLedger(
  ctx: ServiceContext,
  options: LedgerCheckOptions = {},
): Promise<LedgerCheckReport> {
  const now = options.now ?? ctx.now();
  const windows = { ...CLEARING_WINDOW_DAYS, ...options.clearingWindows };
  const cutoff = (kind: ClearingKind) => new Date(now.getTime() - windows[kind] * DAY_MS).toISOString();
  /** An entry's amount in its account's natural sign (c: the account, e: the entry). */
  const natural = sql`(CASE c.normal_side WHEN 'debit' THEN e.amount ELSE -e.amount END)`;
  const inTransitAccount = accountId(platformAccount("payouts_in_transit"));
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
  ] = await readInOneBatch(ctx, [
    // global_sum_zero
    rows<{ total: number; entries: number }>(
      sql`SELECT coalesce(sum(amount), 0) AS total, count(*) AS entries FROM ledger_entries`,
    ),
    // transaction_balanced: a LEFT JOIN, so a transaction without entries is caught too.
    rows<{ id: string; entries: number; total: number; offending: number }>(sql`
      SELECT id, entries, total, count(*) OVER () AS offending FROM (
        SELECT t.id, count(e.id) AS entries, coalesce(sum(e.amount), 0) AS total
          FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
         GROUP BY t.id
        HAVING count(e.id) < 2 OR coalesce(sum(e.amount), 0) <> 0)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // cached_balance_matches: natural sum = sum(amount) when debit-normal, -sum(amount) when credit-normal.
    rows<{ id: string; balance: number; natural: number; offending: number }>(sql`
      SELECT id, balance, natural, count(*) OVER () AS offending FROM (
        SELECT a.id, a.balance,
               CASE a.normal_side WHEN 'debit' THEN coalesce(s.total, 0) ELSE -coalesce(s.total, 0) END AS natural
          FROM ledger_accounts a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) s
            ON s.account_id = a.id)
       WHERE balance <> natural
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // floor_respected (1): a floored account whose stored floor is not the design's is unguarded.
    rows<{ id: string; floor: number | null; offending: number }>(sql`
      SELECT id, floor, count(*) OVER () AS offending FROM ledger_accounts
       WHERE owner_type = 'driver' AND kind IN (${flooredKinds}) AND (floor IS NULL OR floor <> 0)
       ORDER BY id LIMIT ${MAX_LISTED}`),
    // floor_respected (2): replay each floored account's running balance in entry order, as the
    // trigger saw it, and find floor-enforcing entries that lowered it below 0.
    rows<{
      entry_id: number;
      account_id: string;
      transaction_id: string;
      running: number;
      offending: number;
    }>(sql`
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
    rows<{ id: string; kind: ClearingKind; balance: number; settled_in: number; went_out: number }>(sql`
      WITH clearing AS (
        SELECT id, kind, balance, normal_side,
               CASE kind ${sql.join(
                 CLEARING_KINDS.map((kind) => sql`WHEN ${kind} THEN ${cutoff(kind)}`),
                 sql` `,
               )} END AS cutoff
          FROM ledger_accounts
         WHERE owner_type = 'platform' AND kind IN (${sql.join(
           CLEARING_KINDS.map((kind) => sql`${kind}`),
           sql`, `,
         )}))
      SELECT c.id, c.kind, c.balance,
             coalesce(sum(CASE WHEN ${natural} > 0 AND e.effective_at <= c.cutoff THEN ${natural} END), 0)
               AS settled_in,
             coalesce(sum(CASE WHEN ${natural} < 0 THEN -${natural} END), 0) AS went_out
        FROM clearing c LEFT JOIN ledger_entries e ON e.account_id = c.id
       GROUP BY c.id ORDER BY c.id`),
    // settlement_consistent (1): each settlement's postings exist.
    rows<{
      id: string;
      status: string;
      source_found: number;
      release_transaction_id: string | null;
      release_found: number;
      offending: number;
    }>(sql`
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
    // settlement_consistent (2): what is scheduled for release is in the driver's pending balance.
    rows<{ driver_id: string; scheduled: number; pending: number; offending: number }>(sql`
      SELECT driver_id, scheduled, pending, count(*) OVER () AS offending FROM (
        SELECT s.driver_id, sum(s.amount_cents) AS scheduled, coalesce(max(a.balance), 0) AS pending
          FROM settlements s
          LEFT JOIN ledger_accounts a
            ON a.owner_type = 'driver' AND a.owner_id = s.driver_id AND a.kind = 'pending'
         WHERE s.status = 'scheduled'
         GROUP BY s.driver_id)
       WHERE scheduled > pending
       ORDER BY driver_id LIMIT ${MAX_LISTED}`),
    // payout_consistent (1): payouts in transit against the platform's in-transit balance.
    rows<{ payouts: number; in_transit: number; balance: number }>(sql`
      SELECT count(*) AS payouts, coalesce(sum(amount_cents), 0) AS in_transit,
             coalesce((SELECT balance FROM ledger_accounts WHERE id = ${inTransitAccount}), 0) AS balance
        FROM payouts WHERE status = 'in_transit'`),
    // payout_consistent (2): each payout's postings exist; a finished payout has its outcome posted.
    rows<{
      id: string;
      status: string;
      request_found: number;
      outcome_transaction_id: string | null;
      outcome_found: number;
      offending: number;
    }>(sql`
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
  ]);

  const breaches: LedgerBreach[] = [];
  const breach = (invariant: LedgerInvariant, detail: string) => breaches.push({ invariant, detail });

  const sum = globalSum[0] ?? { total: 0, entries: 0 };
  if (sum.total !== 0) {
    breach("global_sum_zero", `the ${sum.entries} entries sum to ${sum.total} centavos, not 0`);
  }

  if (unbalanced.length > 0) {
    const list = unbalanced.map((t) => `${t.id} (${t.entries} entries, sum ${t.total})`).join(", ");
    breach("transaction_balanced", `${countOf(unbalanced)} unbalanced transactions: ${list}`);
  }

  if (cached.length > 0) {
    const list = cached.map((a) => `${a.id} (cached ${a.balance}, entries ${a.natural})`).join(", ");
    breach("cached_balance_matches", `${countOf(cached)} accounts drift from their entries: ${list}`);
  }

  if (unguarded.length > 0) {
    const list = unguarded.map((a) => `${a.id} (floor ${a.floor ?? "none"})`).join(", ");
    breach("floor_respected", `${countOf(unguarded)} accounts lost their floor of 0: ${list}`);
  }
  if (overdrawn.length > 0) {
    const list = overdrawn
      .map((e) => `entry ${e.entry_id} of ${e.transaction_id} left ${e.account_id} at ${e.running}`)
      .join(", ");
    breach("floor_respected", `${countOf(overdrawn)} floor-enforcing entries overdrew: ${list}`);
  }

  for (const account of clearing) {
    const outstanding = account.settled_in - account.went_out;
    if (outstanding > 0) {
      breach(
        "clearing_settled",
        `${account.id} still holds ${outstanding} centavos that came in before ${cutoff(account.kind)} (window ${windows[account.kind]} days)`,
      );
    }
    if (account.balance < 0) {
      breach("clearing_settled", `${account.id} is at ${account.balance}: more left it than came in`);
    }
  }

  if (settlementRows.length > 0) {
    const list = settlementRows
      .map((s) =>
        !s.source_found
          ? `${s.id} (source transaction missing)`
          : s.status === "released"
            ? `${s.id} (released without a release transaction)`
            : `${s.id} (scheduled but has release transaction ${s.release_transaction_id})`,
      )
      .join(", ");
    breach(
      "settlement_consistent",
      `${countOf(settlementRows)} settlements disagree with the ledger: ${list}`,
    );
  }
  if (settlementCover.length > 0) {
    const list = settlementCover
      .map((d) => `${d.driver_id} (scheduled ${d.scheduled}, pending ${d.pending})`)
      .join(", ");
    breach(
      "settlement_consistent",
      `${countOf(settlementCover)} drivers have more scheduled for release than pending: ${list}`,
    );
  }

  const payouts = payoutTotal[0] ?? { payouts: 0, in_transit: 0, balance: 0 };
  if (payouts.in_transit !== payouts.balance) {
    breach(
      "payout_consistent",
      `${payouts.payouts} payouts in transit add up to ${payouts.in_transit} centavos, but ${inTransitAccount} is ${payouts.balance}`,
    );
  }
  if (payoutRows.length > 0) {
    const list = payoutRows
      .map((p) =>
        !p.request_found
          ? `${p.id} (request transaction missing)`
          : p.status === "in_transit"
            ? `${p.id} (in transit but has outcome ${p.outcome_transaction_id})`
            : `${p.id} (${p.status} without an outcome transaction)`,
      )
      .join(", ");
    breach("payout_consistent", `${countOf(payoutRows)} payouts disagree with the ledger: ${list}`);
  }

  return { ok: breaches.length === 0, checked_at: now.toISOString(), breaches };
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

/** How many rows offend, from the window count the statement carries beside its first rows. */
function countOf(listed: { offending: number }[]): string {
  const total = listed[0]?.offending ?? listed.length;
  return total > listed.length ? `${total} (first ${listed.length} listed)` : String(total);
}
