import type { RideStatus, rides } from "../../db/schema";
import type { ProblemCode } from "../../lib/problem";

export type RideRow = typeof rides.$inferSelect;

export type RideEventType =
  | "ride.created"
  | "ride.accepted"
  | "ride.arrived"
  | "ride.started"
  | "ride.completed"
  | "ride.cancelled"
  | "ride.expired"
  | "ride.reassigning";

/** Why a requested ride expired: nobody accepted in time, or dispatch ran out of drivers. */
export type ExpiryReason = "request_timeout" | "no_driver_available";

export type Actor = { id: string; role: "passenger" | "driver" | "system" };

/** Everything that can happen to a ride. `complete` carries the fare already computed. */
export type RideAction =
  | { kind: "accept"; driverId: string }
  | { kind: "arrive"; driverId: string }
  | { kind: "start"; driverId: string }
  | {
      kind: "complete";
      driverId: string;
      /** The server's measure (null: too few points) and the fare settled from it (trip-fare.ts). */
      distanceM: number | null;
      durationS: number;
      finalFareCents: number;
      fareReview?: string | null;
      driverReportedDistanceM?: number | null;
      driverReportedDurationS?: number | null;
      endedEarlyAt?: string | null;
    }
  | {
      kind: "cancel";
      actor: Actor;
      reason: string;
      feeCents: number;
      graceSeconds: number;
      /** A ride a driver gives back waits at least this long again for another driver. */
      requestTtlSeconds: number;
    }
  | { kind: "expire"; reason?: ExpiryReason };

export type Decision =
  | { ok: true; next: RideRow; event: RideEventType; actorId: string | null }
  | { ok: false; code: ProblemCode; detail: string };

/** What a ride's room answers to a command: the ride after it, or why it was refused. */
export type ActResult = { ok: true; ride: RideRow } | { ok: false; code: ProblemCode; detail: string };

const ACTIVE: readonly RideStatus[] = ["accepted", "arrived", "in_progress"];

const refuse = (code: ProblemCode, detail: string): Decision => ({ ok: false, code, detail });

/**
 * The ride's state machine, as a pure function: requested → accepted → arrived →
 * in_progress → completed; cancelled from the first three; expired from requested. The assigned
 * driver cancelling an accepted or arrived ride gives it back: requested again, without him.
 */
export function decide(row: RideRow, action: RideAction, now: Date): Decision {
  const at = now.toISOString();
  const base = { ...row, lastSeq: row.lastSeq + 1, updatedAt: at };
  switch (action.kind) {
    case "accept": {
      if (row.status === "requested") {
        return {
          ok: true,
          next: { ...base, status: "accepted", driverId: action.driverId, acceptedAt: at },
          event: "ride.accepted",
          actorId: action.driverId,
        };
      }
      if (ACTIVE.includes(row.status)) {
        return row.driverId === action.driverId
          ? refuse("invalid_transition", "You already accepted this ride")
          : refuse("ride_already_accepted", "Another driver accepted this ride first");
      }
      return refuse("ride_not_requested", `The ride is ${row.status}`);
    }
    case "arrive":
      return driverStep(
        row,
        action.driverId,
        "accepted",
        { ...base, status: "arrived", arrivedAt: at },
        "ride.arrived",
      );
    case "start":
      return driverStep(
        row,
        action.driverId,
        "arrived",
        { ...base, status: "in_progress", startedAt: at },
        "ride.started",
      );
    case "complete":
      return driverStep(
        row,
        action.driverId,
        "in_progress",
        {
          ...base,
          status: "completed",
          completedAt: at,
          distanceM: action.distanceM,
          durationS: action.durationS,
          finalFareCents: action.finalFareCents,
          fareReview: action.fareReview ?? null,
          driverReportedDistanceM: action.driverReportedDistanceM ?? null,
          driverReportedDurationS: action.driverReportedDurationS ?? null,
          endedEarlyAt: action.endedEarlyAt ?? null,
        },
        "ride.completed",
      );
    case "cancel": {
      const { actor } = action;
      if (actor.role === "driver" && row.driverId !== actor.id) {
        return refuse("forbidden", "Only the assigned driver can cancel this ride");
      }
      if (actor.role === "passenger" && row.passengerId !== actor.id) {
        return refuse("forbidden", "Only the ride's passenger can cancel it");
      }
      if (row.status !== "requested" && !ACTIVE.includes(row.status)) {
        return refuse("invalid_transition", `A ${row.status} ride cannot be cancelled`);
      }
      if (row.status === "in_progress") {
        return refuse("invalid_transition", "A ride in progress cannot be cancelled; complete it");
      }
      if (actor.role === "driver") return reassign(row, base, action, now);
      return {
        ok: true,
        next: {
          ...base,
          status: "cancelled",
          cancelledAt: at,
          cancelledBy: actor.role,
          cancelReason: action.reason,
          cancellationFeeCents: cancellationFee(row, action, now),
        },
        event: "ride.cancelled",
        actorId: actor.role === "system" ? null : actor.id,
      };
    }
    case "expire":
      if (row.status !== "requested") return refuse("ride_not_requested", `The ride is ${row.status}`);
      return {
        ok: true,
        next: {
          ...base,
          status: "expired",
          expiredAt: at,
          expiredReason: action.reason ?? "request_timeout",
        },
        event: "ride.expired",
        actorId: null,
      };
  }
}

/**
 * The assigned driver gives the ride back: it is requested again with no driver (and no accept or
 * arrival time, so a later passenger cancellation owes nothing until a new driver accepts), and
 * waits for another driver until the later of its old deadline and `requestTtlSeconds` from now.
 */
function reassign(
  row: RideRow,
  base: RideRow,
  action: Extract<RideAction, { kind: "cancel" }>,
  now: Date,
): Decision {
  const renewed = now.getTime() + action.requestTtlSeconds * 1000;
  return {
    ok: true,
    next: {
      ...base,
      status: "requested",
      driverId: null,
      acceptedAt: null,
      arrivedAt: null,
      expiresAt: new Date(Math.max(Date.parse(row.expiresAt), renewed)).toISOString(),
    },
    event: "ride.reassigning",
    actorId: action.actor.id,
  };
}

/**
 * The passenger pays the rule's cancellation fee when cancelling more than the grace period after
 * a driver accepted; cancelling a ride nobody accepted, or a driver cancelling, costs nothing.
 */
export function cancellationFee(
  row: RideRow,
  action: Extract<RideAction, { kind: "cancel" }>,
  now: Date,
): number {
  if (action.actor.role !== "passenger" || !row.acceptedAt) return 0;
  const elapsed = now.getTime() - Date.parse(row.acceptedAt);
  return elapsed > action.graceSeconds * 1000 ? action.feeCents : 0;
}

function driverStep(
  row: RideRow,
  driverId: string,
  from: RideStatus,
  next: RideRow,
  event: RideEventType,
): Decision {
  if (row.driverId !== driverId) return refuse("forbidden", "Only the assigned driver can do this");
  if (row.status !== from) {
    return refuse("invalid_transition", `The ride is ${row.status}; this needs it ${from}`);
  }
  return { ok: true, next, event, actorId: driverId };
}

export function isTerminal(status: RideStatus): boolean {
  return status === "completed" || status === "cancelled" || status === "expired";
}
