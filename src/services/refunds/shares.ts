import { eq } from "drizzle-orm";
import { ledgerEntries, ledgerTransactions } from "../../db/schema";
import type { ServiceContext } from "../context";
import { driverAccount, platformAccount, refOf } from "../ledger/accounts";
import type { PostingLine } from "../ledger/post";
import type { PaymentRow } from "./reads";

// The posting `refund:<id>` takes the money back the way it came in:
//
//     credit efi_balance                 refund        (the money leaves the platform's account)
//     debit  driver available            driver part   (floor waived for payment.refund: may go into debt)
//     debit  revenue                     the rest
//
// - The driver part is the refund's share of the driver's share of that payment, rounded half up
//   like the commission, and computed cumulatively: part = round(after × share / paid) −
//   round(before × share / paid), where before and after are the refunded totals around this
//   refund. Refunds in several parts therefore take back exactly the driver's share and the
//   commission once everything is refunded, never a centavo more or less.
// - It is taken from `available`, not `pending`, whether or not the payment's settlement has been
//   released: settlements have no partial state, and `pending` must keep covering what is still
//   scheduled (the ledger check's `settlement_consistent`). Like a MED clawback, the refund records
//   something that already happened, so the driver's available balance may go below zero; the
//   scheduled release (or the next earnings) brings it back, and payouts are refused meanwhile.
// - The money leaves through `efi_balance`, never a clearing account: a clearing account is swept
//   by effective date (`clearingDue`), and a credit to it after or across a sweep would leave it
//   below zero. Before the nightly sweep `efi_balance` may dip below zero for a day, exactly as
//   it does when a payout is paid from money still in clearing; `efi_clearing + efi_balance` is
//   what Efí holds. Card refunds leave the same way: the acquirer nets them out of a later
//   settlement into that one account.
// - A prepaid-credit top-up refunded takes the amount back from the driver's `credit` (floor
//   off: below the configured floor the driver cannot accept rides until topping up again).

type RefundSource =
  /** A ride payment: its paid amount and the driver's share of it (0 when all was commission). */
  | { kind: "ride"; paidCents: number; driverId: string | null; driverCents: number }
  /** A driver's prepaid-credit top-up. */
  | { kind: "credit_topup"; driverId: string };

/**
 * What a refund takes back from whom, read from the payment's own posting: `ride:<id>:payment`
 * for a ride (its clearing line is what was paid, its driver `pending` line the driver's share).
 */
export async function refundSource(ctx: ServiceContext, payment: PaymentRow): Promise<RefundSource> {
  if (payment.purpose === "credit_topup") return { kind: "credit_topup", driverId: payment.payerId };
  if (!payment.rideId) throw new Error(`ride payment ${payment.id} has no ride`);
  const entries = await ctx.db
    .select({ accountId: ledgerEntries.accountId, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
    .where(eq(ledgerTransactions.idempotencyKey, `ride:${payment.rideId}:payment`))
    .all();
  if (entries.length === 0) {
    throw new Error(`payment ${payment.id} is ${payment.status} but its ride's payment was never posted`);
  }
  let paidCents = 0;
  let driverId: string | null = null;
  let driverCents = 0;
  for (const entry of entries) {
    const ref = refOf(entry.accountId);
    if (ref.owner === "platform" && (ref.kind === "efi_clearing" || ref.kind === "card_clearing")) {
      paidCents += entry.amount;
    } else if (ref.owner === "driver" && ref.kind === "pending") {
      driverId = ref.ownerId;
      driverCents += -entry.amount;
    }
  }
  if (paidCents !== payment.amountCents) {
    throw new Error(`payment ${payment.id} of ${payment.amountCents} was posted as ${paidCents}`);
  }
  return { kind: "ride", paidCents, driverId, driverCents };
}

export async function refundLines(
  ctx: ServiceContext,
  payment: PaymentRow,
  amount: number,
): Promise<PostingLine[]> {
  const source = await refundSource(ctx, payment);
  const lines: PostingLine[] = [{ account: platformAccount("efi_balance"), amount: -amount }];
  if (source.kind === "credit_topup") {
    lines.push({ account: driverAccount(source.driverId, "credit"), amount });
    return lines;
  }
  const before = payment.refundedCents;
  const driverPart =
    source.driverId === null
      ? 0
      : driverShareOf(before + amount, source.driverCents, source.paidCents) -
        driverShareOf(before, source.driverCents, source.paidCents);
  if (driverPart > 0 && source.driverId !== null) {
    lines.push({ account: driverAccount(source.driverId, "available"), amount: driverPart });
  }
  if (amount - driverPart > 0)
    lines.push({ account: platformAccount("revenue"), amount: amount - driverPart });
  return lines;
}

/**
 * The driver's part of `refundedCents` of a payment: refunded × driver share / paid, rounded half
 * up to a whole centavo in exact integer arithmetic (the commission's rule, `splitFare`).
 */
export function driverShareOf(refundedCents: number, driverCents: number, paidCents: number): number {
  if (paidCents <= 0) return 0;
  const numerator = BigInt(refundedCents) * BigInt(driverCents);
  const denominator = BigInt(paidCents);
  return Number((2n * numerator + denominator) / (2n * denominator));
}
