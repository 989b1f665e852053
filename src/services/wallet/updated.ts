import type { ServiceContext } from "../context";
import type { PostingLine } from "../ledger/post";
import { walletOf } from "./balances";

/**
 * `wallet.updated` with the wallet as `GET /v1/wallet` shows it, to each driver whose balances a
 * committed posting just changed. Never throws: the money moved already, and a lost event is a
 * stale screen until the next read, not lost money.
 */
export async function announceWallets(ctx: ServiceContext, driverIds: Iterable<string | null | undefined>) {
  for (const driverId of new Set(driverIds)) {
    if (!driverId) continue;
    try {
      await ctx.publish(
        { type: "wallet.updated", data: await walletOf(ctx, driverId) },
        { users: [driverId] },
      );
    } catch (error) {
      ctx.log.warn("wallet.announce_failed", { driver_id: driverId, error: String(error) });
    }
  }
}

/** The drivers whose accounts a posting's lines touch. */
export function driversOf(lines: readonly PostingLine[]): string[] {
  return lines.flatMap((line) => (line.account.owner === "driver" ? [line.account.ownerId] : []));
}
