import { batchNamed } from "../../db/named-batch";
import type { ServiceContext } from "../context";
import type { NearbyDriver } from "../drivers/index-port";
import type { OutgoingEvent } from "../events/wire";
import type { RideRow } from "../rides/state";
import { nearbyFree, reachOf } from "./candidates";
import { type OfferRow, offerStatements, sweepStatements } from "./offers";
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

/** What a step's batch answered: the sweep's part (none at a ride's creation) and the offer's. */
export interface StepReads {
  expired: OfferRow[];
  open: OfferRow[];
  eligible?: { driverId: string }[];
  offered?: OfferRow[];
}

/**
 * The offer part of a ride's next step, for a D1 batch: the driver indexes (Durable Objects beside
 * the room, milliseconds away) are asked first for the free drivers within the widest radius, and
 * the statements then close their lapsed offers, check their eligibility and insert the next batch
 * (`offerStatements`). The ride's creation puts these in the batch that records the ride, so its
 * first offers cost no round trip of their own.
 */
export async function offerPlan(
  ctx: ServiceContext,
  ride: RideRow,
  state: DispatchState,
  now: Date,
  nearby?: NearbyDriver[],
) {
  const reach = reachOf(ctx, ride, nearby ?? (await nearbyFree(ctx, ride)), state.radiusIndex);
  return offerStatements(ctx, ride, reach, state.batch + 1, now);
}

/**
 * One dispatch step of a requested ride, in one D1 round trip: offers past their window are
 * closed; while any offer is still open the step waits for it. Otherwise the nearest eligible
 * drivers not yet offered the ride get the next batch, open for OFFER_TTL_SECONDS, from the
 * smallest radius of DISPATCH_RADIUS_STEPS_M that holds any; when even the largest finds nobody,
 * the ride waits one more window (drivers come online all the time) and then is exhausted.
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
  const plan = await offerPlan(ctx, ride, state, now);
  const reads = await batchNamed(ctx.db, { ...sweepStatements(ctx, ride.id, now), ...plan });
  return stepOutcome(ctx, ride, state, now, reads);
}

/** Where the step leaves the ride, from what its batch answered. */
export function stepOutcome(
  ctx: ServiceContext,
  ride: RideRow,
  state: DispatchState,
  now: Date,
  reads: StepReads,
): StepOutcome {
  const ttlMs = ctx.config.OFFER_TTL_SECONDS * 1000;
  const notices: Notice[] = reads.expired.map((offer) => withdrawnNotice(ride.id, offer.driverId, "expired"));
  const soonest = reads.open[0];
  if (soonest) return { kind: "next", at: Date.parse(soonest.expiresAt), state, notices };

  const offers = reads.offered ?? [];
  const first = offers[0];
  if (first) {
    for (const offer of offers) {
      notices.push({
        event: { type: "ride.offered", ride_id: ride.id, data: driverOfferView(ride, offer) },
        users: [offer.driverId],
      });
    }
    const steps = ctx.config.DISPATCH_RADIUS_STEPS_M;
    const radiusIndex = Math.max(state.radiusIndex, steps.indexOf(first.radiusM));
    return {
      kind: "next",
      at: now.getTime() + ttlMs,
      state: { batch: first.batch, radiusIndex, waitedAtMax: false },
      notices,
    };
  }
  // Eligible drivers, none offered: other rooms took them meanwhile.
  if ((reads.eligible ?? []).length > 0) {
    return { kind: "next", at: now.getTime() + CONTENDED_RETRY_MS, state, notices };
  }
  if (state.waitedAtMax) return { kind: "exhausted", notices };
  const last = ctx.config.DISPATCH_RADIUS_STEPS_M.length - 1;
  return {
    kind: "next",
    at: now.getTime() + ttlMs,
    state: { ...state, radiusIndex: last, waitedAtMax: true },
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
