import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ledgerPostingChecks, users } from "../../db/schema";
import { businessDateOf, startOfBusinessDate } from "../../lib/business-days";
import { decryptText } from "../../lib/crypto";
import type { PixKey } from "../../lib/pix-keys";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import type { SettlementConfig } from "../settlements/config";
import { liveKeyOf } from "./keys";

/** What a payout that passed the checks carries into its posting and its send. */
export interface PayoutAllowance {
  /** The CPF the rail asks the provider to check the key against (Efí's `favorecido.cpf`). */
  favoredCpf: string;
  /**
   * Statements run first in the posting's batch, given its transaction id: a guard that inserts
   * the closing row early (`ledger_unbalanced`) when today's payouts plus this one exceed the
   * daily limit, which refuses the whole payout, race-free.
   */
  guards: (transactionId: string) => BatchItem<"sqlite">[];
  /** The refusal to answer when that guard closed the posting. */
  overLimit: () => ApiError;
}

/**
 * Whom a payout may go to: a Pix key the driver registered (`POST /v1/payouts/keys`), once its
 * cool-down has passed, within the driver's daily limit, with the driver's CPF handed to the rail
 * so the provider refuses a key owned by anyone else. A balance in debt covers nothing: the
 * `available` floor refuses it (`insufficient_funds`).
 *
 * The daily limit is checked twice: first here for a clear answer, then inside the posting's
 * batch (`guards`). D1 runs one batch at a time, so concurrent payouts cannot pass it together.
 */
export async function payoutAllowance(
  ctx: ServiceContext,
  driverId: string,
  key: PixKey,
  amountCents: number,
  config: SettlementConfig,
): Promise<PayoutAllowance> {
  const favoredCpf = await driverCpf(ctx, driverId);
  const registered = await liveKeyOf(ctx, driverId, key.normalized);
  if (!registered) {
    throw new ApiError("payout_key_not_registered", "Register this Pix key (POST /v1/payouts/keys) first", {
      errors: [{ path: "pix_key", message: "is not one of your registered Pix keys" }],
    });
  }
  const now = ctx.now();
  const waitMs = Date.parse(registered.usableFrom) - now.getTime();
  if (waitMs > 0) {
    throw new ApiError(
      "payout_key_cooling_down",
      `This Pix key was registered recently; it can receive payouts from ${registered.usableFrom}`,
      { retryAfter: Math.ceil(waitMs / 1000) },
    );
  }
  const dayStart = startOfBusinessDate(businessDateOf(now)).toISOString();
  const limit = config.payoutDailyLimitCents;
  const today = sql`(SELECT coalesce(sum(amount_cents), 0) FROM payouts
                      WHERE driver_id = ${driverId} AND status <> 'failed' AND created_at >= ${dayStart})`;
  const paid = await ctx.db.get<{ total: number }>(sql`SELECT ${today} AS total`);
  const overLimit = () =>
    new ApiError(
      "payout_daily_limit",
      `At most ${limit} centavos a day; ${Math.max(0, limit - (paid?.total ?? 0))} left today`,
    );
  if ((paid?.total ?? 0) + amountCents > limit) throw overLimit();
  return {
    favoredCpf,
    guards: (transactionId) => [
      ctx.db
        .insert(ledgerPostingChecks)
        .select(sql`SELECT ${transactionId} WHERE ${today} + ${amountCents} > ${limit}`),
    ],
    overLimit,
  };
}

/** The driver's CPF (11 digits), or `payout_cpf_required`. */
async function driverCpf(ctx: ServiceContext, driverId: string): Promise<string> {
  const row = await ctx.db
    .select({ cpf: users.cpfCiphertext })
    .from(users)
    .where(eq(users.id, driverId))
    .get();
  if (!row?.cpf) {
    throw new ApiError("payout_cpf_required", "Add your CPF to your account before your first payout");
  }
  return decryptText(ctx.config.CPF_ENCRYPTION_KEY, row.cpf);
}
