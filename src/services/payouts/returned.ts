import { and, eq, sql } from "drizzle-orm";
import { ledgerEntries, ledgerTransactions, payouts } from "../../db/schema";
import type { ServiceContext } from "../context";
import { accountId, driverAccount, platformAccount } from "../ledger/accounts";
import { post } from "../ledger/post";
import { announceWallets } from "../wallet/updated";

// Money that came back from a payout: the receiving bank returned all or part of a Pix we sent
// (a closed account, a MED on the driver's side). Efí credits it to our account, so the driver
// gets it back on his available balance, once per return (posting
// `payout:<id>:returned:<rtrId>`, idempotent). The payout fee is not returned: the send was made.
// The payout itself stays `paid` (its single-outcome trigger keeps it so); its returns are the
// postings that reference it.

export type PayoutReturnResult =
  | { status: "applied" | "already_applied"; payoutId: string; driverId: string }
  | { status: "unknown_payout" }
  /** Not a paid payout, or more than was sent: a person must look. */
  | { status: "refused"; payoutId: string; why: string };

export async function recordPayoutReturn(
  ctx: ServiceContext,
  input: { payoutId: string; rtrId: string; amountCents: number },
): Promise<PayoutReturnResult> {
  const payout = await ctx.db.select().from(payouts).where(eq(payouts.id, input.payoutId)).get();
  if (!payout) return { status: "unknown_payout" };
  if (payout.status !== "paid") {
    return {
      status: "refused",
      payoutId: payout.id,
      why: `payout ${payout.id} is ${payout.status}, not paid`,
    };
  }
  const key = `payout:${payout.id}:returned:${input.rtrId}`;
  const before = await ctx.db
    .select({
      returned: sql<number>`coalesce(sum(case when ${ledgerTransactions.idempotencyKey} = ${key} then 0 else ${ledgerEntries.amount} end), 0)`,
      mine: sql<number>`sum(case when ${ledgerTransactions.idempotencyKey} = ${key} then 1 else 0 end)`,
    })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
    .where(
      and(
        eq(ledgerTransactions.kind, "payout.returned"),
        eq(ledgerTransactions.referenceId, payout.id),
        eq(ledgerEntries.accountId, accountId(platformAccount("efi_balance"))),
      ),
    )
    .get();
  const alreadyPosted = (before?.mine ?? 0) > 0;
  if (!alreadyPosted && (before?.returned ?? 0) + input.amountCents > payout.amountCents) {
    return {
      status: "refused",
      payoutId: payout.id,
      why: `returns of payout ${payout.id} would exceed the ${payout.amountCents} centavos sent`,
    };
  }
  const result = await post(ctx, {
    idempotencyKey: key,
    kind: "payout.returned",
    reference: { type: "payout", id: payout.id },
    effectiveAt: ctx.now(),
    memo: `Pix ${input.rtrId} returned ${input.amountCents} centavos of payout ${payout.id}`,
    lines: [
      { account: platformAccount("efi_balance"), amount: input.amountCents },
      { account: driverAccount(payout.driverId, "available"), amount: -input.amountCents },
    ],
  });
  if (!result.replayed) {
    await announceWallets(ctx, [payout.driverId]);
    await ctx.publish(
      {
        type: "payout.returned",
        data: { payout_id: payout.id, amount_cents: input.amountCents, rtr_id: input.rtrId },
      },
      { users: [payout.driverId] },
    );
  }
  return {
    status: result.replayed ? "already_applied" : "applied",
    payoutId: payout.id,
    driverId: payout.driverId,
  };
}
