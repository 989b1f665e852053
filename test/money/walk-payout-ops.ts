import { expect } from "vitest";
import { idEnvioOf } from "../../src/integrations/efi/ids";
import { ApiError } from "../../src/lib/problem";
import { requestPayout } from "../../src/services/payouts/request";
import { sandboxControl } from "../efi-network";
import { lastNotificationId, notificationsSince } from "./efi-notifications";
import {
  cents,
  type Fate,
  MIN_PAYOUT_CENTS,
  PAYOUT_FEE_CENTS,
  PAYOUT_KEY,
  type PlannedOp,
  payoutClaims,
  pickFate,
  SANDBOX_ACCEPTS_UP_TO,
  SANDBOX_PAYS_UP_TO,
  SELF_RETURNING,
  type Walk,
} from "./walk";

// The walk's payouts on the Efí rail: several for one driver at once, one Efí refuses at once,
// and money the receiving bank returns from a paid one.

/** A driver with at least `cents` available, if any (else any driver: the operation declines). */
export function driverWith(w: Walk, atLeast: number): string {
  const rich = w.drivers.filter((d) => w.model.available(d) >= atLeast);
  return w.rng.pick(rich.length > 0 ? rich : w.drivers);
}

function payoutAmount(w: Walk, max: number): number {
  let amount = w.rng.int(MIN_PAYOUT_CENTS, max);
  while (SELF_RETURNING.has(amount)) amount += 1;
  return amount;
}

/**
 * One to three payouts of one driver at once, sometimes more than the balance: the floor decides
 * which go through. The driver's balance is the operation's alone in its wave, so the outcome is
 * exact: what went through fits, and each refused payout would not have fitted beside them.
 */
export function payoutRace(w: Walk, driver: string): PlannedOp | null {
  const racers = w.shape.int(1, 3);
  const available = w.model.available(driver);
  if (available < MIN_PAYOUT_CENTS + PAYOUT_FEE_CENTS) return null;
  // Each up to 90 % of the balance: two or three together often ask for more than there is.
  const cap = Math.min(SANDBOX_ACCEPTS_UP_TO, Math.max(MIN_PAYOUT_CENTS + 1, Math.ceil(available * 0.9)));
  const amounts = Array.from({ length: racers }, () => payoutAmount(w, cap));
  const fates = amounts.map(() => pickFate(w.rng));
  return {
    name: "payoutRace",
    claims: [{ key: `available:${driver}`, exclusive: true }],
    run: async () => {
      const results = await Promise.all(
        amounts.map((amountCents) =>
          requestPayout(w.ctx, driver, { amountCents, pixKey: PAYOUT_KEY }).catch((e: unknown) => e),
        ),
      );
      let taken = 0;
      const refused: number[] = [];
      const sent: { id: string; fate: Fate }[] = [];
      results.forEach((result, i) => {
        const amount = amounts[i] as number;
        if (result instanceof ApiError && result.code === "insufficient_funds") {
          refused.push(amount);
          return;
        }
        if (result instanceof Error) throw result;
        const payout = result as Awaited<ReturnType<typeof requestPayout>>;
        expect(payout).toMatchObject({ status: "in_transit", amount_cents: amount });
        taken += amount + PAYOUT_FEE_CENTS;
        w.model.payoutRequested({
          id: payout.id,
          idEnvio: idEnvioOf(payout.id),
          driver,
          amount,
          fee: PAYOUT_FEE_CENTS,
          outcome: amount <= SANDBOX_PAYS_UP_TO ? "paid" : "failed",
        });
        sent.push({ id: payout.id, fate: fates[i] as Fate });
      });
      expect(taken, `payouts of ${driver} within ${available}`).toBeLessThanOrEqual(available);
      for (const amount of refused) {
        expect(amount + PAYOUT_FEE_CENTS, "a refused payout would not have fitted").toBeGreaterThan(
          available - taken,
        );
      }
      w.count(amounts.length > 1 ? "payoutRaced" : "payout");
      if (refused.length > 0) w.count("payoutRefused");
      await Promise.all(
        sent.map(async ({ id, fate }) => {
          const notifications = await notificationsSince("PIX_ENVIADO", idEnvioOf(id), 0);
          await w.settle(fate, notifications, payoutClaims(id, driver), () => w.model.payoutResolved(id));
        }),
      );
    },
  };
}

/** A payout Efí refuses in the request (above what the sandbox accepts): failed at once. */
export function refusedPayout(w: Walk, driver: string): PlannedOp | null {
  const max = Math.min(5000, w.model.available(driver) - PAYOUT_FEE_CENTS);
  if (max <= SANDBOX_ACCEPTS_UP_TO) return null;
  const amount = w.rng.int(SANDBOX_ACCEPTS_UP_TO + 1, max);
  return {
    name: "refusedPayout",
    claims: [{ key: `available:${driver}`, exclusive: true }],
    run: async () => {
      const payout = await requestPayout(w.ctx, driver, { amountCents: amount, pixKey: PAYOUT_KEY });
      expect(payout).toMatchObject({ status: "failed", amount_cents: amount });
      w.model.payoutRequested({
        id: payout.id,
        idEnvio: idEnvioOf(payout.id),
        driver,
        amount,
        fee: PAYOUT_FEE_CENTS,
        outcome: "failed",
      });
      w.model.payoutResolved(payout.id);
      w.count("payoutFailedAtOnce");
    },
  };
}

/**
 * The receiving bank returns all or part of a paid payout. Returns are not in any list the
 * reconciler reads: only the webhook tells, so the notification is never lost here, only late.
 */
export function payoutReturn(w: Walk): PlannedOp | null {
  const candidates = [...w.model.payouts.values()].filter(
    (po) => po.resolved && po.outcome === "paid" && po.returned < po.amount,
  );
  if (candidates.length === 0) return null;
  const po = w.rng.pick(candidates);
  const amount = w.rng.chance(0.5) ? po.amount - po.returned : w.rng.int(1, po.amount - po.returned);
  po.returned += amount;
  const fate = pickFate(w.rng, false);
  return {
    name: "payoutReturn",
    claims: payoutClaims(po.id, po.driver),
    run: async () => {
      const mark = await lastNotificationId();
      const back = await sandboxControl("POST", `/sandbox/pix-sends/${po.idEnvio}/return`, {
        valor: cents(amount),
      });
      expect(back.status, back.text).toBe(200);
      const notifications = await notificationsSince("DEVOLUCAO_RECEBIDA", po.idEnvio, mark);
      await w.settle(fate, notifications, payoutClaims(po.id, po.driver), () =>
        w.model.payoutReturned(
          po.id,
          notifications.flatMap((n) => n.devolucoes),
        ),
      );
      w.count("payoutReturned");
    },
  };
}
