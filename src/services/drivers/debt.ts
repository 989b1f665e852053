import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { driverAccount } from "../ledger/accounts";
import { balanceOf } from "../ledger/balances";

/**
 * A driver who owes the platform more than `DRIVER_DEBT_ONLINE_LIMIT_CENTS` (his available balance
 * below minus that, after a MED or a refund of a ride he was already paid for) may not go online:
 * the rides he would drive are how he pays it back, so a small debt is allowed, a large one is
 * for support to settle first. Later earnings reduce it by themselves (they land on the same
 * balance), and payouts are refused while it is negative (the account's floor).
 */
export async function assertDebtWithinLimit(ctx: ServiceContext, driverId: string): Promise<void> {
  const available = await balanceOf(ctx, driverAccount(driverId, "available"));
  const limit = ctx.config.DRIVER_DEBT_ONLINE_LIMIT_CENTS;
  if (available >= -limit) return;
  throw new ApiError(
    "driver_in_debt",
    `You owe ${-available} centavos, more than the ${limit} allowed to keep driving; your next earnings or support settle it`,
  );
}
