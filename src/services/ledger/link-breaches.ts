import type { InvariantRows } from "./invariant-queries";
import { HOLIDAYS_AHEAD_DAYS, type LedgerBreach, type LedgerWarning, type StuckKind } from "./invariants";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Breaches of the invariants that tie the ledger to payments, refunds, ageing, debts and floors. */
export function linkBreaches(
  found: InvariantRows,
  limits: { stuckHours: Record<StuckKind, number>; debtDays: number },
): LedgerBreach[] {
  const breaches: LedgerBreach[] = [];
  if (found.paymentLinks.length > 0) {
    const list = found.paymentLinks.map((p) => `${p.id} (${p.status}: ${p.problem})`).join(", ");
    breaches.push({
      invariant: "payment_posted",
      detail: `${countOf(found.paymentLinks)} payments disagree with their postings: ${list}`,
    });
  }
  if (found.refundLinks.length > 0) {
    const list = found.refundLinks.map((r) => `${r.id} (${r.problem})`).join(", ");
    breaches.push({
      invariant: "refunds_posted",
      detail: `${countOf(found.refundLinks)} payments or refunds disagree: ${list}`,
    });
  }
  for (const row of found.stuck) {
    if (row.count > 0) {
      breaches.push({
        invariant: "nothing_stuck",
        detail: `${row.count} ${row.what} for more than ${limits.stuckHours[row.what]} hours (oldest since ${row.oldest})`,
      });
    }
  }
  if (found.debts.length > 0) {
    const list = found.debts.map((d) => `${d.id} (${d.balance} since ${d.since})`).join(", ");
    breaches.push({
      invariant: "driver_debt_aged",
      detail: `${countOf(found.debts)} driver balances in debt for more than ${limits.debtDays} days: ${list}`,
    });
  }
  if (found.creditFloors.length > 0) {
    const list = found.creditFloors
      .map((a) => `${a.id} (floor ${a.floor ?? "none"}, configured ${a.configured})`)
      .join(", ");
    breaches.push({
      invariant: "credit_floor_current",
      detail: `${countOf(found.creditFloors)} credit accounts do not carry the configured floor: ${list}`,
    });
  }
  if (found.efiDays.length > 0) {
    const list = found.efiDays.map((d) => `${d.day} (ledger ${d.ledger}, Efí ${d.efi})`).join(", ");
    breaches.push({
      invariant: "clearing_matches_efi",
      detail: `${countOf(found.efiDays)} days took more into Pix clearing than Efí received: ${list}`,
    });
  }
  return breaches;
}

/**
 * Settlement dates are counted over the configured holidays: past the last listed date, every
 * weekday counts as a business day, and D+N comes early on a holiday nobody listed. Warns while
 * there is still time, when the list ends less than HOLIDAYS_AHEAD_DAYS from now.
 */
export function holidayWarnings(found: InvariantRows, now: Date): LedgerWarning[] {
  const raw = found.holidays[0]?.holidays;
  const dates: unknown = raw ? JSON.parse(raw) : [];
  const last = Array.isArray(dates)
    ? dates
        .filter((d) => typeof d === "string")
        .sort()
        .at(-1)
    : undefined;
  const needed = new Date(now.getTime() + HOLIDAYS_AHEAD_DAYS * DAY_MS).toISOString().slice(0, 10);
  if (last && last >= needed) return [];
  return [
    {
      warning: "holidays_running_out",
      detail: last
        ? `the holiday list ends on ${last}; settlement dates need it through ${needed} (PUT /v1/admin/settlement-config)`
        : "the holiday list is empty (PUT /v1/admin/settlement-config)",
    },
  ];
}

function countOf(listed: { offending: number }[]): string {
  const total = listed[0]?.offending ?? listed.length;
  return total > listed.length ? `${total} (first ${listed.length} listed)` : String(total);
}
