import { and, desc, eq, inArray, lt, lte, sql } from "drizzle-orm";
import { ledgerAccounts, ledgerEntries, ledgerTransactions } from "../../db/schema";
import type { ServiceContext } from "../context";
import { type AccountRef, accountId, refOf, specOf } from "./accounts";

export async function balanceOf(ctx: ServiceContext, ref: AccountRef): Promise<number> {
  const row = await ctx.db
    .select({ balance: ledgerAccounts.balance })
    .from(ledgerAccounts)
    .where(eq(ledgerAccounts.id, accountId(ref)))
    .get();
  return row?.balance ?? 0;
}

/** Natural balances of several accounts in one statement; missing accounts are 0. */
export async function balancesOf(ctx: ServiceContext, refs: AccountRef[]): Promise<Map<string, number>> {
  const ids = refs.map(accountId);
  const rows = await ctx.db
    .select({ id: ledgerAccounts.id, balance: ledgerAccounts.balance })
    .from(ledgerAccounts)
    .where(inArray(ledgerAccounts.id, ids))
    .all();
  const found = new Map(rows.map((r) => [r.id, r.balance]));
  return new Map(ids.map((id) => [id, found.get(id) ?? 0]));
}

/** The natural balance of an account counting only entries effective at or before `at`. */
export async function balanceAt(ctx: ServiceContext, ref: AccountRef, at: Date): Promise<number> {
  const spec = specOf(ref);
  const row = await ctx.db
    .select({ sum: sql<number | null>`sum(${ledgerEntries.amount})` })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.accountId, accountId(ref)), lte(ledgerEntries.effectiveAt, at.toISOString())))
    .get();
  const raw = row?.sum ?? 0;
  return spec.normalSide === "debit" ? raw : -raw;
}

/** An account's statement lines, newest first, with the transaction each belongs to. */
export async function entriesOf(
  ctx: ServiceContext,
  refs: AccountRef[],
  page: { limit: number; cursor?: number },
) {
  const ids = refs.map(accountId);
  const rows = await ctx.db
    .select({
      id: ledgerEntries.id,
      accountId: ledgerEntries.accountId,
      amount: ledgerEntries.amount,
      effectiveAt: ledgerEntries.effectiveAt,
      createdAt: ledgerEntries.createdAt,
      transactionId: ledgerTransactions.id,
      kind: ledgerTransactions.kind,
      referenceType: ledgerTransactions.referenceType,
      referenceId: ledgerTransactions.referenceId,
      memo: ledgerTransactions.memo,
    })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
    .where(
      page.cursor === undefined
        ? inArray(ledgerEntries.accountId, ids)
        : and(inArray(ledgerEntries.accountId, ids), lt(ledgerEntries.id, page.cursor)),
    )
    .orderBy(desc(ledgerEntries.id))
    .limit(page.limit + 1)
    .all();
  const items = rows.slice(0, page.limit).map((row) => {
    const ref = refOf(row.accountId);
    const natural = specOf(ref).normalSide === "debit" ? row.amount : -row.amount;
    return { ...row, kind: row.kind, account: ref.kind, naturalAmount: natural };
  });
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? last.id : null };
}
