import { eq } from "drizzle-orm";
import { payouts } from "../../db/schema";
import { EfiError, payoutIdOf } from "../../integrations/efi";
import { pixSendOutcome } from "../../integrations/efi/payout-rail";
import type { ServiceContext } from "../context";
import { completePayout } from "../payouts/complete";
import { walletOf } from "../wallet/balances";
import type { StoredPixSent, WebhookEventRow } from "./ingest";
import { flag, markProcessed, notYet, type ProcessOutcome } from "./outcome";

/**
 * A Pix send (a driver's payout) reached its outcome. Efí's send record decides paid or failed;
 * the payout's single-outcome trigger makes two racing consumers complete it once.
 */
export async function confirmPixSent(
  ctx: ServiceContext,
  row: WebhookEventRow,
  item: StoredPixSent,
  attempts: number,
): Promise<ProcessOutcome> {
  const payoutId = payoutIdOf(item.id_envio);
  const payout = payoutId
    ? await ctx.db.select().from(payouts).where(eq(payouts.id, payoutId)).get()
    : undefined;
  if (!payoutId || !payout) return flag(ctx, row, `unknown idEnvio ${item.id_envio}`);

  let send: Awaited<ReturnType<typeof ctx.efi.getPixSend>>;
  try {
    send = await ctx.efi.getPixSend(item.id_envio);
  } catch (error) {
    if (error instanceof EfiError && error.notFound) {
      return flag(ctx, row, `Efí knows no Pix send ${item.id_envio}`);
    }
    throw error;
  }
  if (send.amountCents !== payout.amountCents) {
    return flag(
      ctx,
      row,
      `amount mismatch: payout ${payout.id} is ${payout.amountCents}, Efí sent ${send.amountCents} centavos`,
    );
  }
  const reason = item.error
    ? `efi_${item.error.code ?? "nao_realizado"}: ${item.error.reason ?? ""}`.trim().slice(0, 300)
    : undefined;
  const outcome = pixSendOutcome(send, reason);
  if (!outcome) return notYet(ctx, row, attempts, `Efí still shows Pix send ${item.id_envio} in processing`);

  if (payout.status === outcome.status) return markProcessed(ctx, row); // applied before
  if (payout.status !== "in_transit") {
    return flag(ctx, row, `payout ${payout.id} is already ${payout.status}; Efí now reports ${send.status}`);
  }
  let view: Awaited<ReturnType<typeof completePayout>>;
  try {
    view = await completePayout(ctx, payout.id, outcome);
  } catch (error) {
    const current = await ctx.db.select().from(payouts).where(eq(payouts.id, payout.id)).get();
    if (current && current.status !== "in_transit" && current.status !== outcome.status) {
      return flag(
        ctx,
        row,
        `payout ${payout.id} is already ${current.status}; Efí now reports ${send.status}`,
      );
    }
    throw error;
  }
  const processed = await markProcessed(ctx, row);
  try {
    if (view.status === "paid") {
      await ctx.publish({ type: "payout.paid", data: view }, { users: [payout.driverId] });
    } else {
      await ctx.publish(
        { type: "wallet.updated", data: await walletOf(ctx, payout.driverId) },
        { users: [payout.driverId] },
      );
    }
  } catch (error) {
    ctx.log.warn("efi_webhook.announce_failed", { payout_id: payout.id, error: String(error) });
  }
  return processed;
}
