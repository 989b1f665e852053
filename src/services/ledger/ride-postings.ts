import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ledgerPostingChecks, ledgerTransactions, rides, users } from "../../db/schema";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { currentCommissionRule, splitFare } from "../pricing/commission";
import type { RideRow } from "../rides/state";
import { getSettlementConfig } from "../settlements/config";
import { scheduleSettlementStatement } from "../settlements/schedule";
import { accountId, driverAccount, platformAccount } from "./accounts";
import { type Posting, type PostingLine, type PostingResult, post, postingStatements } from "./post";

// The ledger side of ride money. Providers (Efí Pix, card) confirm payments elsewhere and call
// in here; this module only decides the entries.
//
// - A Pix or card payment of a ride: clearing ← amount; driver pending ← driver share; platform
//   revenue ← commission (splitFare, with the commission rule in force when the ride ended), and
//   the driver share is scheduled for release D+N in the same batch.
// - A cash ride: the passenger paid the driver, so at completion (in the batch that completes the
//   ride) the driver's prepaid credit is debited by the commission and revenue credited.
// - A cancellation fee is split like a fare. For a cash ride no cash changes hands at a
//   cancellation, so nothing is posted then; if the fee is later paid by Pix or card it goes
//   through recordRidePayment like any other payment.

export type RidePaymentMethod = "pix" | "card";

const CLEARING = { pix: "efi_clearing", card: "card_clearing" } as const;

export interface RidePayment {
  rideId: string;
  method: RidePaymentMethod;
  amountCents: number;
  /** Who confirmed the payment, e.g. `efi`. */
  provider: string;
  /** The provider's id of the payment (Pix e2eId, card charge id); kept in the posting's memo. */
  providerReference: string;
  /** When the provider confirmed it: D of the driver share's D+N settlement. */
  confirmedAt: Date;
}

export interface RidePaymentResult extends PostingResult {
  driverCents: number;
  commissionCents: number;
}

/** A ride that was already paid by another payment: the new one is money to give back. */
export class RideAlreadyPaidError extends Error {
  constructor(
    readonly rideId: string,
    readonly transactionId: string,
    readonly recordedReference: string | null,
  ) {
    super(
      `ride ${rideId} was already paid (transaction ${transactionId}, ${recordedReference ?? "no reference"})`,
    );
    this.name = "RideAlreadyPaidError";
  }
}

/**
 * Records a confirmed Pix or card payment of a ride. What can be paid: a completed ride that is
 * not a cash ride (amount = `final_fare_cents`), or a cancelled ride with a fee, whatever its
 * payment method (amount = `cancellation_fee_cents`). The amount is split with the commission
 * rule in force when the ride ended; the posting's `effective_at` is that moment.
 *
 * Idempotent per ride (`ride:<id>:payment`): a second call with the same payment returns the
 * first transaction, posts nothing and schedules nothing. A different payment of an already paid
 * ride throws `RideAlreadyPaidError` (same method) or an Error (other method), never posts.
 */
export async function recordRidePayment(ctx: ServiceContext, input: RidePayment): Promise<RidePaymentResult> {
  positiveAmount(input.amountCents);
  const ride = await ctx.db.select().from(rides).where(eq(rides.id, input.rideId)).get();
  if (!ride) throw new ApiError("not_found", "No such ride");
  const due = amountDue(ride);
  if (input.amountCents !== due.amountCents) {
    throw new ApiError(
      "validation_failed",
      `Ride ${ride.id} is paid with ${due.amountCents} centavos, not ${input.amountCents}`,
      { errors: [{ path: "amount_cents", message: `must be ${due.amountCents}` }] },
    );
  }
  const [rule, config] = await Promise.all([
    currentCommissionRule(ctx, ride.cityId, ride.category, due.endedAt),
    getSettlementConfig(ctx),
  ]);
  const split = splitFare(due.amountCents, rule);
  const memo = `${input.provider}:${input.providerReference}`;
  const posting: Posting = {
    idempotencyKey: `ride:${ride.id}:payment`,
    kind: "ride.payment",
    reference: { type: "ride", id: ride.id },
    effectiveAt: due.endedAt,
    memo,
    lines: nonZero([
      { account: platformAccount(CLEARING[input.method]), amount: input.amountCents },
      { account: driverAccount(due.driverId, "pending"), amount: -split.driverCents },
      { account: platformAccount("revenue"), amount: -split.commissionCents },
    ]),
  };
  const result = await post(ctx, posting, (transactionId) =>
    split.driverCents > 0
      ? [
          scheduleSettlementStatement(ctx, config, {
            driverId: due.driverId,
            sourceTransactionId: transactionId,
            rideId: ride.id,
            amountCents: split.driverCents,
            confirmedAt: input.confirmedAt,
          }),
        ]
      : [],
  );
  if (result.replayed) {
    const first = await ctx.db
      .select({ memo: ledgerTransactions.memo })
      .from(ledgerTransactions)
      .where(eq(ledgerTransactions.id, result.transactionId))
      .get();
    if (first?.memo !== memo)
      throw new RideAlreadyPaidError(ride.id, result.transactionId, first?.memo ?? null);
  }
  return { ...result, ...split };
}

/** What a ride is paid with, when, and to whom; refuses a ride that has nothing to pay. */
function amountDue(ride: RideRow): { amountCents: number; endedAt: Date; driverId: string } {
  if (ride.status === "completed" && ride.paymentMethod === "cash") {
    throw new ApiError(
      "invalid_transition",
      "A cash ride is paid to the driver; its commission was taken from their credit at completion",
    );
  }
  if (ride.status === "completed" && ride.finalFareCents && ride.completedAt && ride.driverId) {
    return { amountCents: ride.finalFareCents, endedAt: new Date(ride.completedAt), driverId: ride.driverId };
  }
  if (ride.status === "cancelled" && ride.cancellationFeeCents && ride.cancelledAt && ride.driverId) {
    return {
      amountCents: ride.cancellationFeeCents,
      endedAt: new Date(ride.cancelledAt),
      driverId: ride.driverId,
    };
  }
  throw new ApiError(
    "invalid_transition",
    `The ride is ${ride.status}; only a completed ride or a cancellation fee can be paid`,
  );
}

export interface CreditTopup {
  driverId: string;
  amountCents: number;
  /** The Pix charge's id at Efí (txid or e2eId): one top-up per reference. */
  providerReference: string;
  confirmedAt: Date;
}

/**
 * Records a confirmed Pix top-up of a driver's prepaid credit: Efí clearing ← amount, driver
 * credit ← amount. Idempotent per provider reference (`topup:<reference>`).
 */
export async function recordCreditTopup(ctx: ServiceContext, input: CreditTopup): Promise<PostingResult> {
  positiveAmount(input.amountCents);
  const driver = await ctx.db
    .select({ role: users.role })
    .from(users)
    .where(eq(users.id, input.driverId))
    .get();
  if (driver?.role !== "driver") throw new ApiError("not_found", "No such driver");
  return post(ctx, {
    idempotencyKey: `topup:${input.providerReference}`,
    kind: "credit.topup",
    reference: { type: "credit_topup", id: input.providerReference },
    effectiveAt: input.confirmedAt,
    memo: `efi:${input.providerReference}`,
    lines: [
      { account: platformAccount("efi_clearing"), amount: input.amountCents },
      { account: driverAccount(input.driverId, "credit"), amount: -input.amountCents },
    ],
  });
}

/**
 * The ledger statements a ride transition carries, to run in the same D1 batch as the ride's
 * guarded update (persistTransition). Today only one: a cash ride's completion posts its
 * commission from the driver's credit to platform revenue (`ride:<id>:cash_commission`). The
 * credit account's floor is never enforced by postings: the ride already happened, so the credit
 * may go below the floor, and the driver then cannot accept rides until they top up. A commission of 0 posts nothing.
 *
 * The first statement closes the posting early, which the ledger refuses (`ledger_unbalanced`),
 * unless the ride row is completed at this transition's seq: if the ride update was skipped by
 * its guard, the whole batch fails instead of posting a commission for a ride that did not end.
 */
export async function transitionStatements(
  ctx: ServiceContext,
  before: RideRow,
  after: RideRow,
): Promise<BatchItem<"sqlite">[]> {
  if (after.paymentMethod !== "cash" || after.status !== "completed" || before.status === "completed")
    return [];
  if (after.finalFareCents === null || !after.completedAt || !after.driverId) {
    throw new Error(`completed ride ${after.id} has no fare, completion time or driver`);
  }
  const completedAt = new Date(after.completedAt);
  const rule = await currentCommissionRule(ctx, after.cityId, after.category, completedAt);
  const { commissionCents } = splitFare(after.finalFareCents, rule);
  if (commissionCents === 0) return [];
  const transactionId = newId("txn", ctx.now().getTime());
  const statements = await postingStatements(
    ctx,
    {
      idempotencyKey: `ride:${after.id}:cash_commission`,
      kind: "ride.cash_commission",
      reference: { type: "ride", id: after.id },
      effectiveAt: completedAt,
      lines: [
        { account: driverAccount(after.driverId, "credit"), amount: commissionCents },
        { account: platformAccount("revenue"), amount: -commissionCents },
      ],
    },
    transactionId,
  );
  // A query builder, not db.run(sql): drizzle's D1 batch cannot bind a raw statement's parameters.
  const guard = ctx.db
    .insert(ledgerPostingChecks)
    .select(
      sql`SELECT ${transactionId} WHERE NOT EXISTS (SELECT 1 FROM rides WHERE id = ${after.id} AND status = 'completed' AND last_seq = ${after.lastSeq})`,
    );
  return [guard, ...statements];
}

/**
 * True when a transition's batch failed because its ride update did not happen (the guard of
 * `transitionStatements`) or its posting already exists: either way the ride row is not where
 * the RideRoom thought, and nothing was written.
 */
export function isDivergedTransitionError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes("ledger_unbalanced")) return true;
    if (
      e.message.includes("UNIQUE constraint failed") &&
      e.message.includes("ledger_transactions.idempotency_key")
    ) {
      return true;
    }
  }
  return false;
}

export interface CreditStanding {
  creditCents: number;
  floorCents: number;
  /** Below the floor the driver may not accept rides. A driver with no account has 0 credit. */
  mayAcceptRides: boolean;
}

/** A driver's prepaid credit against the configured floor, in one statement. */
export async function driverCreditStanding(ctx: ServiceContext, driverId: string): Promise<CreditStanding> {
  const row = await ctx.db.get<{ credit: number | null; floor: number | null }>(
    sql`SELECT (SELECT balance FROM ledger_accounts WHERE id = ${accountId(driverAccount(driverId, "credit"))}) AS credit,
               (SELECT credit_floor_cents FROM settlement_config WHERE id = 1) AS floor`,
  );
  if (row?.floor === null || row?.floor === undefined) {
    throw new Error("settlement_config row 1 is missing (migrations not applied?)");
  }
  const creditCents = row.credit ?? 0;
  return { creditCents, floorCents: row.floor, mayAcceptRides: creditCents >= row.floor };
}

function positiveAmount(amountCents: number): void {
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) {
    throw new ApiError("validation_failed", "The amount must be a positive whole number of centavos", {
      errors: [{ path: "amount_cents", message: "must be a positive integer" }],
    });
  }
}

/** Ledger entries are never zero: a share of 0 (commission = fare, or no commission) has no line. */
function nonZero(lines: PostingLine[]): PostingLine[] {
  return lines.filter((line) => line.amount !== 0);
}
