import { eq, sql } from "drizzle-orm";
import { ledgerPostingChecks, users } from "../../db/schema";
import { businessDateOf, startOfBusinessDate } from "../../lib/business-days";
import { decryptText } from "../../lib/crypto";
import { parsePixKey } from "../../lib/pix-keys";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { getSettlementConfig } from "../settlements/config";
import { liveKeyOf } from "./keys";
import { requestPayout } from "./request";
import type { PayoutView } from "./view";

/**
 * A payout as the API allows it: to a Pix key the driver registered (`POST /v1/payouts/keys`),
 * once its cool-down has passed, within the driver's daily limit, with the driver's CPF handed to
 * the rail so the provider refuses a key owned by anyone else. A balance in debt covers nothing:
 * the `available` floor refuses it (`insufficient_funds`).
 *
 * The daily limit is checked twice: first here for a clear answer, then inside the posting's
 * batch, where a guard closes the posting early (the ledger's `ledger_unbalanced`) when today's
 * payouts plus this one exceed the limit. D1 runs one batch at a time, so concurrent payouts
 * cannot pass it together.
 */
export async function requestOwnKeyPayout(
  ctx: ServiceContext,
  driverId: string,
  input: { amountCents: number; pixKey: string },
): Promise<PayoutView> {
  const key = parsePixKey(input.pixKey);
  const cpf = await driverCpf(ctx, driverId);
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
  const config = await getSettlementConfig(ctx);
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
  if ((paid?.total ?? 0) + input.amountCents > limit) throw overLimit();
  try {
    return await requestPayout(ctx, driverId, input, {
      favoredCpf: cpf,
      guards: (transactionId) => [
        ctx.db
          .insert(ledgerPostingChecks)
          .select(sql`SELECT ${transactionId} WHERE ${today} + ${input.amountCents} > ${limit}`),
      ],
    });
  } catch (error) {
    if (error instanceof Error && messagesOf(error).includes("ledger_unbalanced")) throw overLimit();
    throw error;
  }
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

function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}
