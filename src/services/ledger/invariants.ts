import { CLEARING_SWEEPS, type ClearingKind } from "../settlements/sweep";

/**
 * The ledger's invariants, checked together by `checkLedger`. It is run nightly by cron, served
 * at GET /v1/admin/ledger/check, and asserted at the end of every money test
 * (`expectLedgerConsistent()`).
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
  /** Released settlements were posted; a driver's pending balance is exactly what is scheduled. */
  "settlement_consistent",
  /** Payouts in transit add up to the platform's payouts-in-transit balance. */
  "payout_consistent",
  /** Each paid payment has one posting of its amount that no other payment claims; unpaid, none. */
  "payment_posted",
  /** A payment's refunded_cents (and status) is the sum of its confirmed refunds, each posted. */
  "refunds_posted",
  /** No payout in transit, refund processing, webhook item received or card payment pending too long. */
  "nothing_stuck",
  /** No driver's pending or available balance has been below 0 for too long. */
  "driver_debt_aged",
  /** Every driver credit account carries the configured credit floor. */
  "credit_floor_current",
  /** Pix clearing never took in more on a day than Efí's statement lists as received that day. */
  "clearing_matches_efi",
] as const;

export type LedgerInvariant = (typeof LEDGER_INVARIANTS)[number];

export interface LedgerBreach {
  invariant: LedgerInvariant;
  detail: string;
}

/** Not a breach yet, but one is coming unless a person acts (e.g. the holiday list runs out). */
export const LEDGER_WARNINGS = ["holidays_running_out"] as const;
export type LedgerWarningCode = (typeof LEDGER_WARNINGS)[number];

export interface LedgerWarning {
  warning: LedgerWarningCode;
  detail: string;
}

export interface LedgerCheckReport {
  ok: boolean;
  checked_at: string;
  breaches: LedgerBreach[];
  warnings: LedgerWarning[];
}

export const STUCK_KINDS = [
  "payouts_in_transit",
  "refunds_processing",
  "webhook_items_received",
  "card_payments_pending",
] as const;
export type StuckKind = (typeof STUCK_KINDS)[number];

/**
 * How long things may wait before `nothing_stuck` reports them, in hours. A Pix payout is
 * reported by Efí within minutes, a refund within a day or two; a webhook item is processed by
 * the queue within its retries (about an hour and a half at most); a card charge settles or
 * fails within a day.
 */
export const STUCK_LIMIT_HOURS: Record<StuckKind, number> = {
  payouts_in_transit: 24,
  refunds_processing: 72,
  webhook_items_received: 2,
  card_payments_pending: 24,
};

/** A driver in debt (a refund or clawback after a payout) longer than this is reported. */
export const DEBT_LIMIT_DAYS = 30;

/** The holiday list must reach at least this far ahead, or the report warns. */
export const HOLIDAYS_AHEAD_DAYS = 365;

/**
 * `clearing_settled` follows the nightly sweep (CLEARING_SWEEPS in settlements/sweep): one
 * aggregate posting per clearing account and business date moves what came in before the
 * account's window into the Efí balance. So the check is not per payment but per account: money
 * that came in (natural increases) effective at or before `now − window` must be matched by what
 * has left (natural decreases, effective at any time: sweeps, refunds):
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
  /** Overrides of STUCK_LIMIT_HOURS, in hours. */
  stuckLimitHours?: Partial<Record<StuckKind, number>>;
  /** Override of DEBT_LIMIT_DAYS. */
  debtLimitDays?: number;
}

/** At most this many offending rows are named per breach; the breach also gives the total count. */
export const MAX_LISTED = 20;
