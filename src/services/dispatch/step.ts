import { batchNamed } from "../../db/named-batch";
import type { ServiceContext } from "../context";
import type { OutgoingEvent } from "../events/wire";
import type { RideRow } from "../rides/state";
import { candidatesWithin, eligibleStatement, nearbyFree } from "./candidates";
import { insertOffers, sweepStatements } from "./offers";
import { driverOfferView } from "./view";

/** Where a ride's dispatch stands; kept by the ride's room between steps. */
export interface DispatchState {
  /** The last batch sent (0: none yet). */
  batch: number;
  /** Index into DISPATCH_RADIUS_STEPS_M of the radius searched now. */
  radiusIndex: number;
  /** The largest radius already found nobody new once, with no offer open. */
  waitedAtMax: boolean;
}

export const INITIAL_DISPATCH: DispatchState = { batch: 0, radiusIndex: 0, waitedAtMax: false };

/** An event for some users, for the caller to publish once the step is done. */
export interface Notice {
  event: OutgoingEvent;
  users: string[];
}

export type StepOutcome =
  /** The ride is not waiting for a driver: nothing to do, no next step. */
  | { kind: "done" }
  /** Run the next step at `at` (epoch ms) with `state`. */
  | { kind: "next"; at: number; state: DispatchState; notices: Notice[] }
  /** Nobody is left to offer the ride to: it expires now. */
  | { kind: "exhausted"; notices: Notice[] };

/** A step racing another room for the same drivers, that got none of them, tries again soon. */
const CONTENDED_RETRY_MS = 1000;

/**
 * One dispatch step of a requested ride. Offers past their window are closed; while any offer is
 * still open the step waits for it. Otherwise the nearest eligible drivers not yet offered the
 * ride get the next batch, open for OFFER_TTL_SECONDS. When nobody new is within the radius it
 * widens at once through DISPATCH_RADIUS_STEPS_M; when even the largest finds nobody, the ride
 * waits one more window (drivers come online all the time) and then is exhausted.
 *
 * One D1 round trip for a step that offers nobody, two for one that offers: the driver indexes
 * (Durable Objects beside the room, milliseconds away) answer the free drivers within the widest
 * radius first, then one batch closes the due offers, reads the open ones and checks the nearby
 * drivers' eligibility, and the offers found are inserted.
 *
 * Safe to run twice: offers are unique per ride and driver, and a second run finds the first
 * run's offers open and waits.
 */
export async function dispatchStep(
  ctx: ServiceContext,
  ride: RideRow,
  state: DispatchState,
): Promise<StepOutcome> {
  if (ride.status !== "requested") return { kind: "done" };
  const now = ctx.now();
  const ttlMs = ctx.config.OFFER_TTL_SECONDS * 1000;
  const nearby = await nearbyFree(ctx, ride);
  const reads = await batchNamed(ctx.db, {
    ...sweepStatements(ctx, ride.id, now),
    eligible: nearby.length > 0 ? eligibleStatement(ctx, ride, nearby, now) : undefined,
  });
  const notices: Notice[] = reads.expired.map((offer) => withdrawnNotice(ride.id, offer.driverId, "expired"));
  const soonest = reads.open[0];
  if (soonest) return { kind: "next", at: Date.parse(soonest.expiresAt), state, notices };

  const eligible = new Set((reads.eligible ?? []).map((row) => row.driverId));
  const steps = ctx.config.DISPATCH_RADIUS_STEPS_M;
  for (let radiusIndex = state.radiusIndex; radiusIndex < steps.length; radiusIndex++) {
    const radiusM = steps[radiusIndex] ?? 0;
    const candidates = candidatesWithin(ride, nearby, eligible, radiusM, ctx.config.DISPATCH_BATCH_SIZE);
    if (candidates.length === 0) continue;
    const batch = state.batch + 1;
    const offers = await insertOffers(ctx, ride, candidates, batch, radiusM, now);
    if (offers.length === 0) {
      return {
        kind: "next",
        at: now.getTime() + CONTENDED_RETRY_MS,
        state: { ...state, radiusIndex },
        notices,
      };
    }
    for (const offer of offers) {
      notices.push({
        event: { type: "ride.offered", ride_id: ride.id, data: driverOfferView(ride, offer) },
        users: [offer.driverId],
      });
    }
    return {
      kind: "next",
      at: now.getTime() + ttlMs,
      state: { batch, radiusIndex, waitedAtMax: false },
      notices,
    };
  }
  if (state.waitedAtMax) return { kind: "exhausted", notices };
  return {
    kind: "next",
    at: now.getTime() + ttlMs,
    state: { ...state, radiusIndex: steps.length - 1, waitedAtMax: true },
    notices,
  };
}

/** `ride.offer_withdrawn` to a driver whose offer closed: accepted by another, expired, ride gone. */
export function withdrawnNotice(
  rideId: string,
  driverId: string,
  reason: "expired" | "accepted_by_another" | "ride_closed",
): Notice {
  return {
    event: { type: "ride.offer_withdrawn", ride_id: rideId, data: { id: rideId, reason } },
    users: [driverId],
  };
}
