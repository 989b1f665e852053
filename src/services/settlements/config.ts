import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { ledgerAccounts, settlementConfig } from "../../db/schema";
import { auditStatement } from "../audit/statement";
import type { ServiceContext } from "../context";

export interface SettlementConfig {
  delayBusinessDays: number;
  holidays: string[];
  minPayoutCents: number;
  payoutFeeCents: number;
  creditFloorCents: number;
  /** How long a newly registered payout key waits before its first payout. */
  payoutKeyCooldownSeconds: number;
  /** The most a driver may pay out per São Paulo day (payouts not failed), in centavos. */
  payoutDailyLimitCents: number;
  /** Payouts above this wait for a person's approval; null: none do. */
  approvalThresholdCents: number | null;
  updatedAt: string;
}

type PayoutSafety = "payoutKeyCooldownSeconds" | "payoutDailyLimitCents" | "approvalThresholdCents";

/** The payout-safety settings may be left out of a replacement: they then keep their value. */
export type SettlementConfigInput = Omit<SettlementConfig, "updatedAt" | PayoutSafety> &
  Partial<Pick<SettlementConfig, PayoutSafety>>;

const Holidays = z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/));

/** The one settings row, seeded by migration; changed through the admin route. */
export async function getSettlementConfig(ctx: ServiceContext): Promise<SettlementConfig> {
  const row = await ctx.db.select().from(settlementConfig).where(eq(settlementConfig.id, 1)).get();
  if (!row) throw new Error("settlement_config row 1 is missing (migrations not applied?)");
  return {
    delayBusinessDays: row.delayBusinessDays,
    holidays: Holidays.parse(JSON.parse(row.holidays)),
    minPayoutCents: row.minPayoutCents,
    payoutFeeCents: row.payoutFeeCents,
    creditFloorCents: row.creditFloorCents,
    payoutKeyCooldownSeconds: row.payoutKeyCooldownSeconds,
    payoutDailyLimitCents: row.payoutDailyLimitCents,
    approvalThresholdCents: row.approvalThresholdCents,
    updatedAt: row.updatedAt,
  };
}

/** The settings as the admin API shows them (and as the audit log records them). */
export function settlementConfigView(config: SettlementConfig) {
  return {
    delay_business_days: config.delayBusinessDays,
    holidays: config.holidays,
    min_payout_cents: config.minPayoutCents,
    payout_fee_cents: config.payoutFeeCents,
    credit_floor_cents: config.creditFloorCents,
    payout_key_cooldown_seconds: config.payoutKeyCooldownSeconds,
    payout_daily_limit_cents: config.payoutDailyLimitCents,
    updated_at: config.updatedAt,
  };
}

/**
 * Replaces the settings, audited in the same batch (before and after). Holidays are stored
 * de-duplicated and sorted. A new credit floor also moves the floor of every existing driver
 * credit account (the ledger copies the floor into an account when it creates it), so the new
 * floor applies to everyone at once; a driver already below it can top up but not go lower.
 * Settlements already scheduled keep their due date: D+N applies to payments confirmed from now.
 */
export async function updateSettlementConfig(
  ctx: ServiceContext,
  actorId: string,
  input: SettlementConfigInput,
): Promise<SettlementConfig> {
  const before = await getSettlementConfig(ctx);
  const updatedAt = ctx.now().toISOString();
  const after: SettlementConfig = {
    ...input,
    payoutKeyCooldownSeconds: input.payoutKeyCooldownSeconds ?? before.payoutKeyCooldownSeconds,
    payoutDailyLimitCents: input.payoutDailyLimitCents ?? before.payoutDailyLimitCents,
    approvalThresholdCents:
      input.approvalThresholdCents === undefined
        ? before.approvalThresholdCents
        : input.approvalThresholdCents,
    holidays: [...new Set(input.holidays)].sort(),
    updatedAt,
  };
  const update = ctx.db
    .update(settlementConfig)
    .set({
      delayBusinessDays: after.delayBusinessDays,
      holidays: JSON.stringify(after.holidays),
      minPayoutCents: after.minPayoutCents,
      payoutFeeCents: after.payoutFeeCents,
      creditFloorCents: after.creditFloorCents,
      payoutKeyCooldownSeconds: after.payoutKeyCooldownSeconds,
      payoutDailyLimitCents: after.payoutDailyLimitCents,
      approvalThresholdCents: after.approvalThresholdCents,
      updatedAt,
    })
    .where(eq(settlementConfig.id, 1));
  const audit = auditStatement(ctx, {
    actorId,
    action: "settlement_config.update",
    targetType: "settlement_config",
    targetId: "1",
    before: settlementConfigView(before),
    after: settlementConfigView(after),
  });
  if (after.creditFloorCents !== before.creditFloorCents) {
    await ctx.db.batch([
      update,
      ctx.db
        .update(ledgerAccounts)
        .set({ floor: after.creditFloorCents })
        .where(and(eq(ledgerAccounts.ownerType, "driver"), eq(ledgerAccounts.kind, "credit"))),
      audit,
    ]);
  } else {
    await ctx.db.batch([update, audit]);
  }
  return after;
}
