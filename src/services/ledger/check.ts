import type { ServiceContext } from "../context";
import { CLEARING_SWEEPS, type ClearingKind } from "../settlements/sweep";
import { IN_TRANSIT_ACCOUNT, type InvariantRows, readInvariantRows } from "./invariant-queries";
import {
  CLEARING_WINDOW_DAYS,
  DEBT_LIMIT_DAYS,
  type LedgerBreach,
  type LedgerCheckOptions,
  type LedgerCheckReport,
  type LedgerInvariant,
  STUCK_KINDS,
  STUCK_LIMIT_HOURS,
  type StuckKind,
} from "./invariants";
import { holidayWarnings, linkBreaches } from "./link-breaches";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Verifies every invariant (LEDGER_INVARIANTS) and reports the breaches; `ok` is true when there
 * are none. It only reads, from one snapshot, so it is safe to run at any time and any number of
 * times. Each run is a `ledger_check` metric point with its breach count (the alert's source
 * wherever it runs: nightly, the admin route, the metrics scrape); the nightly job also logs each
 * breach at error level and sends them to Sentry, and logs each warning.
 * Warnings (LEDGER_WARNINGS) do not make it fail.
 */
export async function checkLedger(
  ctx: ServiceContext,
  options: LedgerCheckOptions = {},
): Promise<LedgerCheckReport> {
  const now = options.now ?? ctx.now();
  const windows = { ...CLEARING_WINDOW_DAYS, ...options.clearingWindows };
  const cutoffs = Object.fromEntries(
    (Object.keys(CLEARING_SWEEPS) as ClearingKind[]).map((kind) => [
      kind,
      new Date(now.getTime() - windows[kind] * DAY_MS).toISOString(),
    ]),
  ) as Record<ClearingKind, string>;
  const stuckHours = { ...STUCK_LIMIT_HOURS, ...options.stuckLimitHours };
  const debtDays = options.debtLimitDays ?? DEBT_LIMIT_DAYS;
  const before = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const found = await readInvariantRows(ctx, cutoffs, {
    stuck: Object.fromEntries(
      STUCK_KINDS.map((kind) => [kind, before(stuckHours[kind] * HOUR_MS)]),
    ) as Record<StuckKind, string>,
    debt: before(debtDays * DAY_MS),
  });
  const breaches = [
    ...breachesOf(found, { cutoffs, windows }),
    ...linkBreaches(found, { stuckHours, debtDays }),
  ];
  const warnings = holidayWarnings(found, now);
  ctx.metrics.record({
    event: "ledger_check",
    result: breaches.length ? "breach" : "ok",
    breaches: breaches.length,
  });
  return { ok: breaches.length === 0, checked_at: now.toISOString(), breaches, warnings };
}

/** Turns what the invariant queries found into breaches, each naming what offends. */
function breachesOf(
  found: InvariantRows,
  clearingRule: { cutoffs: Record<ClearingKind, string>; windows: Record<ClearingKind, number> },
): LedgerBreach[] {
  const breaches: LedgerBreach[] = [];
  const breach = (invariant: LedgerInvariant, detail: string) => breaches.push({ invariant, detail });

  const sum = found.globalSum[0] ?? { total: 0, entries: 0 };
  if (sum.total !== 0) {
    breach("global_sum_zero", `the ${sum.entries} entries sum to ${sum.total} centavos, not 0`);
  }

  const { unbalanced, cached, unguarded, overdrawn } = found;
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

  for (const account of found.clearing) {
    const outstanding = account.settled_in - account.went_out;
    if (outstanding > 0) {
      breach(
        "clearing_settled",
        `${account.id} still holds ${outstanding} centavos that came in before ${clearingRule.cutoffs[account.kind]} (window ${clearingRule.windows[account.kind]} days)`,
      );
    }
    if (account.balance < 0) {
      breach("clearing_settled", `${account.id} is at ${account.balance}: more left it than came in`);
    }
  }

  const { settlementRows, settlementCover } = found;
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
      `${countOf(settlementCover)} drivers' pending balances are not what is scheduled for release: ${list}`,
    );
  }

  const payouts = found.payoutTotal[0] ?? { payouts: 0, in_transit: 0, balance: 0 };
  if (payouts.in_transit !== payouts.balance) {
    breach(
      "payout_consistent",
      `${payouts.payouts} payouts in transit add up to ${payouts.in_transit} centavos, but ${IN_TRANSIT_ACCOUNT} is ${payouts.balance}`,
    );
  }
  const { payoutRows } = found;
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

  return breaches;
}

/** How many rows offend, from the window count the statement carries beside its first rows. */
function countOf(listed: { offending: number }[]): string {
  const total = listed[0]?.offending ?? listed.length;
  return total > listed.length ? `${total} (first ${listed.length} listed)` : String(total);
}
