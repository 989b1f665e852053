import { eq } from "drizzle-orm";
import { z } from "zod";
import { settlementConfig } from "../db/schema";
import type { ServiceContext } from "../lib/context";

export interface SettlementConfig {
  delayBusinessDays: number;
  holidays: string[];
  minPayoutCents: number;
  payoutFeeCents: number;
  creditFloorCents: number;
  updatedAt: string;
}

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
    updatedAt: row.updatedAt,
  };
}
