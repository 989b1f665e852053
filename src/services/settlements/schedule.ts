import { settlements } from "../../db/schema";
import { addBusinessDays, businessDateOf } from "../../lib/business-days";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";
import type { SettlementConfig } from "./config";

export interface SettlementSource {
  driverId: string;
  /** The posting that credited the driver's pending balance. */
  sourceTransactionId: string;
  rideId: string | null;
  amountCents: number;
  /** When the payment was confirmed: D of D+N. */
  confirmedAt: Date;
}

/**
 * The insert that schedules a driver's share for release D+N business days after confirmation,
 * to be batched with the posting that credited it (one settlement per source transaction).
 */
export function scheduleSettlementStatement(
  ctx: ServiceContext,
  config: SettlementConfig,
  source: SettlementSource,
) {
  const dueOn = addBusinessDays(
    businessDateOf(source.confirmedAt),
    config.delayBusinessDays,
    config.holidays,
  );
  return ctx.db.insert(settlements).values({
    id: newId("stl", ctx.now().getTime()),
    driverId: source.driverId,
    sourceTransactionId: source.sourceTransactionId,
    rideId: source.rideId,
    amountCents: source.amountCents,
    dueOn,
    status: "scheduled",
    createdAt: ctx.now().toISOString(),
  });
}
