import { inArray } from "drizzle-orm";
import { settlements } from "../../db/schema";
import type { ServiceContext } from "../context";
import { driverAccount } from "../ledger/accounts";
import { entriesOf } from "../ledger/balances";
import { WALLET_ACCOUNTS, type WalletAccount } from "./balances";

export interface StatementLine {
  /** The entry id; also the cursor of the next page. */
  id: string;
  account: WalletAccount;
  /** Natural sign: positive adds to the account's balance, negative takes from it. */
  amount_cents: number;
  /** The transaction's kind, e.g. `ride.payment`, `settlement.release`, `payout.request`. */
  kind: string;
  ride_id: string | null;
  payout_id: string | null;
  settlement_id: string | null;
  transaction_id: string;
  effective_at: string;
  created_at: string;
}

/**
 * The driver's statement across their wallet accounts, newest entry first, each line linked to
 * what caused it through its transaction's reference: a ride, a payout, or a settlement (a D+N
 * release), whose ride is looked up too so that every earning line names its ride.
 */
export async function statementOf(
  ctx: ServiceContext,
  driverId: string,
  page: { limit: number; cursor?: number },
): Promise<{ items: StatementLine[]; next_cursor: string | null }> {
  const refs = WALLET_ACCOUNTS.map((kind) => driverAccount(driverId, kind));
  const { items, nextCursor } = await entriesOf(ctx, refs, page);
  const settlementIds = [
    ...new Set(items.filter((i) => i.referenceType === "settlement").map((i) => i.referenceId)),
  ];
  const rideOfSettlement = new Map<string, string | null>();
  if (settlementIds.length > 0) {
    const rows = await ctx.db
      .select({ id: settlements.id, rideId: settlements.rideId })
      .from(settlements)
      .where(inArray(settlements.id, settlementIds))
      .all();
    for (const row of rows) rideOfSettlement.set(row.id, row.rideId);
  }
  return {
    items: items.map((item) => {
      const type = item.referenceType;
      const settlementId = type === "settlement" ? item.referenceId : null;
      return {
        id: String(item.id),
        account: item.account as WalletAccount,
        amount_cents: item.naturalAmount,
        kind: item.kind,
        ride_id:
          type === "ride"
            ? item.referenceId
            : settlementId
              ? (rideOfSettlement.get(settlementId) ?? null)
              : null,
        payout_id: type === "payout" ? item.referenceId : null,
        settlement_id: settlementId,
        transaction_id: item.transactionId,
        effective_at: item.effectiveAt,
        created_at: item.createdAt,
      };
    }),
    next_cursor: nextCursor === null ? null : String(nextCursor),
  };
}
