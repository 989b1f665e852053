import type { CardChargeState } from "../../../integrations/card/provider";
import type { ServiceContext } from "../../context";
import { type PaymentRow, paymentRow } from "../rows";
import { applyCardResult, failCardPayment } from "./outcome";

// Card outcomes that arrive after the charge's own reply: Efí's card notifications and the
// reconciler's lookups. Both name the attempt by the charge's `custom_id` (`<payment id>:<attempt>`)
// and go through `applyCardResult`, the code the charge's reply goes through.

export type CardReconcileResult =
  | { status: "applied"; payment: PaymentRow }
  /** Not a charge of ours, or of an attempt that is no longer the payment's current one. */
  | { status: "ignored"; detail: string };

function attemptOf(customId: string | null): { paymentId: string; attempt: number } | null {
  const match = customId ? /^(pay_[0-9A-Za-z]+):(\d+)$/.exec(customId) : null;
  return match?.[1] && match[2] ? { paymentId: match[1], attempt: Number(match[2]) } : null;
}

async function applyState(ctx: ServiceContext, state: CardChargeState): Promise<CardReconcileResult> {
  const key = attemptOf(state.customId);
  const payment = key ? await paymentRow(ctx, key.paymentId) : undefined;
  if (!key || !payment || payment.method !== "card") {
    ctx.log.warn("card notification for no payment of ours", { custom_id: state.customId });
    return { status: "ignored", detail: `no card payment for custom_id ${state.customId}` };
  }
  if (payment.attempt !== key.attempt) {
    // An older attempt: its own outcome was recorded when it ended. An approval now means a card
    // was charged for an attempt we gave up on: a person refunds it.
    if (state.result.status === "approved") {
      ctx.log.error("card charge of an earlier attempt approved; refund it", {
        payment_id: payment.id,
        attempt: key.attempt,
        charge_id: state.result.chargeId,
      });
    }
    return { status: "ignored", detail: `attempt ${key.attempt} is not the current one` };
  }
  return { status: "applied", payment: await applyCardResult(ctx, payment, state.result) };
}

/** Efí posted a notification token: read the charge it is about and apply its latest state. */
export async function applyCardNotification(
  ctx: ServiceContext,
  token: string,
): Promise<CardReconcileResult> {
  if (!ctx.cards.notification)
    return { status: "ignored", detail: "the card provider sends no notifications" };
  return applyState(ctx, await ctx.cards.notification(token));
}

/**
 * Asks the provider about a card payment still pending (decision pending, or `outcome_unknown`):
 * by its charge id, else by `custom_id`. A provider that has no charge for this attempt never
 * received it, so the attempt failed and the passenger may retry.
 */
export async function reconcileCardPayment(
  ctx: ServiceContext,
  payment: PaymentRow,
): Promise<CardReconcileResult> {
  const customId = `${payment.id}:${payment.attempt}`;
  if (!ctx.cards.lookup) return { status: "ignored", detail: "the card provider cannot look charges up" };
  const state = await ctx.cards.lookup({ chargeId: payment.cardChargeId, customId });
  if (!state) {
    return {
      status: "applied",
      payment: await failCardPayment(ctx, payment, "charge_not_found_at_provider"),
    };
  }
  return applyState(ctx, { ...state, customId: state.customId ?? customId });
}
