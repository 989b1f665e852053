import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ApiError } from "../../src/lib/problem";
import { isDivergedTransitionError, transitionStatements } from "../../src/services/ledger/ride-postings";
import { attemptCharge, createCardRidePayment } from "../../src/services/payments/card/charge";
import { latestCard } from "../../src/services/payments/card/on-file";
import { startPixRidePayment } from "../../src/services/payments/start";
import { efiRefundIdOf } from "../../src/services/refunds/ids";
import { requestRefund } from "../../src/services/refunds/request";
import { releaseSettlement } from "../../src/services/settlements/release";
import { sandboxControl } from "../efi-network";
import { postings } from "../efi-webhook-helpers";
import { insertCompletedRides } from "../money-helpers";
import { commissionOf } from "./concurrent-model";
import { lastNotificationId, notificationsSince } from "./efi-notifications";
import { cents, type PlannedOp, paymentClaims, pickFate, type Walk } from "./walk";

// The walk's operations on rides and their payments: Pix rides paid at the sandbox, cash rides,
// settlement releases, refunds and MEDs. Each is planned (its random choices made) now and run
// later, concurrently with the rest of its wave.

/** A completed Pix ride, its charge paid at the sandbox; the webhook's fate is drawn here. */
export function pixRide(w: Walk): PlannedOp {
  const driver = w.rng.pick(w.drivers);
  const fare = w.rng.int(800, 8000);
  const fate = pickFate(w.rng);
  return {
    name: "pixRide",
    claims: [],
    run: async () => {
      const [ride] = await insertCompletedRides(w.ctx, [
        {
          driverId: driver,
          passengerId: w.passenger,
          fareCents: fare,
          method: "pix",
          completedAt: new Date(),
        },
      ]);
      if (!ride) throw new Error("no ride inserted");
      const payment = await startPixRidePayment(w.ctx, {
        id: ride.id,
        status: "completed",
        payment_method: "pix",
        final_fare_cents: fare,
        cancellation_fee_cents: null,
        passenger_id: w.passenger,
      });
      const mark = await lastNotificationId();
      const paid = await sandboxControl("POST", `/sandbox/charges/${payment.txid}/pay`);
      expect(paid.status, paid.text).toBe(200);
      const e2eId = paid.json.e2eId as string;
      const commission = commissionOf(fare);
      w.model.addPayment({
        id: payment.id,
        method: "pix",
        rideId: ride.id,
        driver,
        fare,
        commission,
        share: fare - commission,
        e2eId,
      });
      const notifications = await notificationsSince("PIX_RECEBIDO", e2eId, mark);
      await w.settle(fate, notifications, [{ key: `payment:${payment.id}`, exclusive: true }], () =>
        w.model.paymentConfirmed(payment.id),
      );
      if (fate === "now" || fate === "twice") {
        expect(await postings(`ride:${ride.id}:payment`), "a ride payment posts once").toBe(1);
      }
      w.count("pixRide");
    },
  };
}

/** A completed card ride charged on the passenger's card: approved, posted with the reply. */
export function cardRide(w: Walk): PlannedOp {
  const driver = w.rng.pick(w.drivers);
  const fare = w.rng.int(800, 8000);
  return {
    name: "cardRide",
    claims: [],
    run: async () => {
      const [ride] = await insertCompletedRides(w.ctx, [
        {
          driverId: driver,
          passengerId: w.cardPassenger,
          fareCents: fare,
          method: "card",
          completedAt: new Date(),
        },
      ]);
      if (!ride) throw new Error("no ride inserted");
      const payment = await createCardRidePayment(w.ctx, ride.id, w.cardPassenger, fare);
      if (!payment) throw new Error(`ride ${ride.id} had a payment already`);
      // The sandbox's card notifications (approved, then paid) reach the card webhook meanwhile.
      const charged = await attemptCharge(w.ctx, payment, await latestCard(w.ctx, w.cardPassenger));
      expect(charged).toMatchObject({ status: "paid" });
      const commission = commissionOf(fare);
      w.model.addPayment({
        id: payment.id,
        method: "card",
        rideId: ride.id,
        driver,
        fare,
        commission,
        share: fare - commission,
        e2eId: "",
      });
      w.model.paymentConfirmed(payment.id);
      expect(await postings(`ride:${ride.id}:payment`), "a ride payment posts once").toBe(1);
      w.count("cardRide");
    },
  };
}

/** A cash ride completed, sometimes twice at once (a RideRoom replaying it): one commits. */
export function cashRide(w: Walk): PlannedOp {
  const driver = w.rng.pick(w.drivers);
  const fare = w.rng.int(800, 8000);
  const racers = w.shape.chance(0.5) ? 2 : 1;
  return {
    name: "cashRide",
    claims: [],
    run: async () => {
      const [ride] = await insertCompletedRides(w.ctx, [
        {
          driverId: driver,
          passengerId: w.passenger,
          fareCents: fare,
          method: "cash",
          completedAt: new Date(),
        },
      ]);
      if (!ride) throw new Error("no ride inserted");
      const complete = async () => {
        const statements = await transitionStatements(w.ctx, { ...ride, status: "in_progress" }, ride);
        await w.ctx.db.batch(statements as [(typeof statements)[number], ...typeof statements]);
      };
      const outcomes = await Promise.allSettled(Array.from({ length: racers }, complete));
      const failed = outcomes.filter((o) => o.status === "rejected");
      expect(outcomes.length - failed.length, "one completion commits").toBe(1);
      for (const f of failed) expect(isDivergedTransitionError(f.reason), String(f.reason)).toBe(true);
      w.model.cashRide(driver, commissionOf(fare));
      w.count(racers > 1 ? "cashRideRaced" : "cashRide");
    },
  };
}

/** A paid ride's settlement released, sometimes twice at once (the cron and a retry): once. */
export function release(w: Walk): PlannedOp | null {
  const racers = w.shape.chance(0.3) ? 2 : 1;
  // Among the oldest: settlements come due in the order the payments were made.
  const candidates = [...w.model.payments.values()].filter((p) => p.paid && !p.released).slice(0, 4);
  if (candidates.length === 0) return null;
  const p = w.rng.pick(candidates);
  return {
    name: "release",
    claims: [
      { key: `settlement:${p.id}`, exclusive: true },
      { key: `available:${p.driver}`, exclusive: false },
    ],
    run: async () => {
      const row = await env.DB.prepare("SELECT id, due_on FROM settlements WHERE ride_id = ?")
        .bind(p.rideId)
        .first<{ id: string; due_on: string }>();
      if (!row) throw new Error(`no settlement for ride ${p.rideId}`);
      const outcomes = await Promise.all(
        Array.from({ length: racers }, () => releaseSettlement(w.ctx, row.id, row.due_on)),
      );
      expect(outcomes.map((o) => o.status).sort(), "a settlement is released once").toEqual(
        ["released", ...Array(racers - 1).fill("already_released")].sort(),
      );
      w.model.released(p.id);
      w.count(racers > 1 ? "releaseRaced" : "release");
    },
  };
}

/**
 * One refund (all, part, or R$ 0,01, which the sandbox rejects for a Pix), or two at once that
 * may not both fit: the refund guard must let through exactly what fits. A Pix refund settles by
 * its webhook (whose fate is drawn here) or the reconciler; a card refund in the reply.
 */
export function refund(w: Walk): PlannedOp | null {
  const { rng, model } = w;
  const race = w.shape.chance(0.5);
  const overlapping = w.shape.chance(0.5);
  const onCard = w.shape.chance(0.35);
  const anotherPart = w.shape.chance(0.4);
  const candidates = [...model.payments.values()].filter(
    (p) => p.paid && p.medsInFlight === 0 && model.remaining(p) > 0,
  );
  if (candidates.length === 0) return null;
  // Another part of a payment already partly refunded: each part's share is rounded so that the
  // parts add up to the whole, which only parts after the first can get wrong.
  const partly = candidates.filter((p) => p.refunded + p.inFlight > 0);
  const cards = candidates.filter((p) => p.method === "card");
  const pool = anotherPart && partly.length > 0 ? partly : onCard && cards.length > 0 ? cards : candidates;
  const p = rng.pick(pool);
  const remaining = model.remaining(p);
  const half = Math.ceil(remaining / 2);
  const small = () => rng.int(1, Math.max(1, remaining - half));
  const large = () => rng.int(half, remaining);
  const amounts = race
    ? overlapping
      ? [large(), large()]
      : [small(), small()]
    : [rng.pick([remaining, rng.int(1, remaining), 1])];
  const fate = pickFate(rng);
  return {
    name: "refund",
    claims: paymentClaims(p),
    run: async () => {
      const mark = await lastNotificationId();
      const results = await Promise.all(
        amounts.map((amountCents) =>
          requestRefund(w.ctx, { paymentId: p.id, amountCents, actorId: w.staff, reason: "walk" }).catch(
            (e: unknown) => e,
          ),
        ),
      );
      let accepted = 0;
      const refused: number[] = [];
      results.forEach((result, i) => {
        const amount = amounts[i] as number;
        if (result instanceof ApiError && result.code === "refund_exceeds_paid") {
          refused.push(amount);
          return;
        }
        if (result instanceof Error) throw result;
        const { refund } = result as Awaited<ReturnType<typeof requestRefund>>;
        accepted += amount;
        if (p.method === "card") {
          // The card provider's refund is final in its reply.
          expect(refund).toMatchObject({ status: "refunded", amount_cents: amount });
          model.addRefund({ efiId: refund.id, paymentId: p.id, amount, kind: "ours", outcome: "DEVOLVIDO" });
          model.refundSettled(refund.id);
          return;
        }
        expect(refund).toMatchObject({ status: "processing", amount_cents: amount });
        model.addRefund({
          efiId: efiRefundIdOf(refund.id),
          paymentId: p.id,
          amount,
          kind: "ours",
          outcome: amount === 1 ? "NAO_REALIZADO" : "DEVOLVIDO",
        });
      });
      // Exactly the allowed outcomes: what went through fits, each refusal would not have.
      expect(accepted, "refunds never exceed what is left").toBeLessThanOrEqual(remaining);
      for (const amount of refused) {
        expect(amount, "a refused refund would not have fitted").toBeGreaterThan(remaining - accepted);
      }
      if (refused.length > 0) w.count("refundRefused");
      if (p.method === "card") {
        if (accepted > 0) w.count("cardRefund");
        return;
      }
      if (accepted === 0) return;
      const notifications = await notificationsSince("DEVOLUCAO_ENVIADA", p.e2eId, mark);
      await w.settle(fate, notifications, paymentClaims(p), () =>
        model.devolucoesDelivered(notifications.flatMap((n) => n.devolucoes)),
      );
      w.count(amounts.length > 1 ? "refundRaced" : "refund");
    },
  };
}

/**
 * The payer's bank takes all or part of a received Pix back (MED), before or after the
 * settlement's release. A MED is not in Efí's statement of received Pix: only its webhook (or
 * Efí's retry) tells, so its notification is never lost here, only late.
 */
export function med(w: Walk): PlannedOp | null {
  const { rng, model } = w;
  const afterRelease = w.shape.chance(0.6);
  const candidates = [...model.payments.values()].filter(
    (p) => p.method === "pix" && p.paid && model.remaining(p) > 0,
  );
  if (candidates.length === 0) return null;
  const releasedOnes = candidates.filter((p) => p.released);
  const p = rng.pick(afterRelease && releasedOnes.length > 0 ? releasedOnes : candidates);
  const remaining = model.remaining(p);
  const amount = rng.chance(0.5) ? remaining : rng.int(1, remaining);
  const fate = pickFate(rng, false);
  const when = p.released ? "medAfterRelease" : "medBeforeRelease";
  return {
    name: "med",
    claims: paymentClaims(p),
    run: async () => {
      const mark = await lastNotificationId();
      const med = await sandboxControl("POST", `/sandbox/pix/${p.e2eId}/med`, { valor: cents(amount) });
      expect(med.status, med.text).toBe(200);
      model.addRefund({ efiId: med.json.id, paymentId: p.id, amount, kind: "med", outcome: "DEVOLVIDO" });
      const notifications = await notificationsSince("DEVOLUCAO_ENVIADA", p.e2eId, mark);
      await w.settle(fate, notifications, paymentClaims(p), () =>
        model.devolucoesDelivered(notifications.flatMap((n) => n.devolucoes)),
      );
      w.count(when);
    },
  };
}
