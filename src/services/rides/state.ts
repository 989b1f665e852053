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
  | "ride.expired";

export type Actor = { id: string; role: "passenger" | "driver" | "system" };

/** Everything that can happen to a ride. `complete` carries the fare already computed. */
export type RideAction =
  | { kind: "accept"; driverId: string }
  | { kind: "arrive"; driverId: string }
  | { kind: "start"; driverId: string }
  | { kind: "complete"; driverId: string; distanceM: number; durationS: number; finalFareCents: number }
  | { kind: "cancel"; actor: Actor; reason: string; feeCents: number; graceSeconds: number }
  | { kind: "expire" };

export type Decision =
  | { ok: true; next: RideRow; event: RideEventType; actorId: string | null }
  | { ok: false; code: ProblemCode; detail: string };

/** What a ride's room answers to a command: the ride after it, or why it was refused. */
export type ActResult = { ok: true; ride: RideRow } | { ok: false; code: ProblemCode; detail: string };

const ACTIVE: readonly RideStatus[] = ["accepted", "arrived", "in_progress"];

const refuse = (code: ProblemCode, detail: string): Decision => ({ ok: false, code, detail });

/**
 * The ride's state machine, as a pure function: requested → accepted → arrived →
 * in_progress → completed; cancelled from the first three; expired from requested.
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
        next: { ...base, status: "expired", expiredAt: at },
        event: "ride.expired",
        actorId: null,
      };
  }
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
