import type { ServiceContext } from "../context";
import { accountId, driverAccount } from "../ledger/accounts";
import { balancesOf } from "../ledger/balances";

/** The driver accounts a wallet shows. */
export const WALLET_ACCOUNTS = ["pending", "available", "credit"] as const;
export type WalletAccount = (typeof WALLET_ACCOUNTS)[number];

export interface WalletView {
  pending_cents: number;
  available_cents: number;
  credit_cents: number;
  /** What the driver owes the platform: minus a negative available balance, else 0. */
  debt_cents: number;
  currency: "BRL";
}

/** The driver's balances, read in one statement. Accounts never posted to are 0. */
export async function walletOf(ctx: ServiceContext, driverId: string): Promise<WalletView> {
  const refs = WALLET_ACCOUNTS.map((kind) => driverAccount(driverId, kind));
  const balances = await balancesOf(ctx, refs);
  const [pending, available, credit] = refs.map((ref) => balances.get(accountId(ref)) ?? 0);
  return {
    pending_cents: pending ?? 0,
    available_cents: available ?? 0,
    credit_cents: credit ?? 0,
    debt_cents: Math.max(0, -(available ?? 0)),
    currency: "BRL",
  };
}
