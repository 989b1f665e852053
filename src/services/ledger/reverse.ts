import { asc, eq } from "drizzle-orm";
import { ledgerEntries, ledgerTransactions } from "../../db/schema";
import type { ServiceContext } from "../context";
import { refOf } from "./accounts";
import { type Alongside, type PostingResult, post } from "./post";

/**
 * A new transaction that undoes `transactionId` line by line (once: a second call replays). Its
 * lines keep floors like any other (the database decides, from the account and `kind`): a
 * reversal that would overdraw a guarded balance is refused with `insufficient_funds`.
 */
export async function reverse(
  ctx: ServiceContext,
  transactionId: string,
  options: {
    kind?: string;
    memo?: string;
    alongside?: Alongside;
  } = {},
): Promise<PostingResult> {
  const original = await ctx.db
    .select()
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.id, transactionId))
    .get();
  if (!original) throw new Error(`no ledger transaction ${transactionId}`);
  const entries = await ctx.db
    .select({ accountId: ledgerEntries.accountId, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.transactionId, transactionId))
    .orderBy(asc(ledgerEntries.id))
    .all();
  return post(
    ctx,
    {
      idempotencyKey: `reversal:${transactionId}`,
      kind: options.kind ?? `${original.kind}.reversal`,
      reference: { type: original.referenceType, id: original.referenceId },
      effectiveAt: ctx.now(),
      reversesId: transactionId,
      memo: options.memo,
      lines: entries.map((entry) => ({
        account: refOf(entry.accountId),
        amount: -entry.amount,
      })),
    },
    options.alongside,
  );
}
