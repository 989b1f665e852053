import { haversineMeters } from "../../lib/geo";
import type { ProblemCode } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { ruleById } from "../pricing/fares";
import type { ReportedTrip } from "./room";
import type { RideAction, RideRow } from "./state";
import { settleFare } from "./trip-fare";
import { measureTrace, TRACE_MAX_POINTS, type TracePoint } from "./trip-measure";

/** What the RideRoom holds about the trip. */
export interface RoomTrip {
  trace: TracePoint[];
  /** The driver's last position, whenever it came (before the trip too). */
  lastLocation: TracePoint | undefined;
  /** When the passenger ended the trip early, if they did. */
  endedEarlyAt: string | undefined;
}

export type PreparedCompletion =
  | { ok: true; action: Extract<RideAction, { kind: "complete" }> }
  | { ok: false; code: ProblemCode; detail: string; maybeStale?: true };

/**
 * Called by the RideRoom, inside its queue: decides whether the assigned driver may complete the
 * ride now and with what fare. The fare comes from the room's trace and the server's clock only
 * (`settleFare`); the driver's figures go into the row as advisory. Where the driver is comes
 * from the trace: the last plausible point, so a single teleported ping cannot place him at the
 * dropoff. With no position at all the driver is refused too: switching the GPS off must not be
 * the way around the dropoff check. A passenger's "ended early" lifts that check.
 */
export async function prepareCompletion(
  ctx: ServiceContext,
  row: RideRow,
  driverId: string,
  trip: RoomTrip,
  reported: ReportedTrip,
): Promise<PreparedCompletion> {
  if (row.driverId !== driverId) {
    return { ok: false, code: "forbidden", detail: "Only the assigned driver can do this", maybeStale: true };
  }
  if (row.status !== "in_progress" || !row.startedAt) {
    const detail = `The ride is ${row.status}; this needs it in_progress`;
    return { ok: false, code: "invalid_transition", detail, maybeStale: true };
  }
  const points = [...trip.trace];
  const lastStored = points.at(-1);
  const startedMs = Date.parse(row.startedAt);
  // The last ping is stored in the trace only when it moved far enough; it still counts.
  if (
    trip.lastLocation &&
    trip.lastLocation.at >= startedMs &&
    trip.lastLocation.at > (lastStored?.at ?? 0)
  ) {
    points.push(trip.lastLocation);
  }
  const measure = measureTrace(points, trip.trace.length >= TRACE_MAX_POINTS);
  const endedEarly = trip.endedEarlyAt !== undefined;
  if (!endedEarly) {
    const position = measure.last ?? trip.lastLocation;
    const dropoff = { lat: row.dropoffLat, lng: row.dropoffLng };
    const limit = ctx.config.COMPLETE_MAX_DROPOFF_DISTANCE_M;
    if (!position) {
      return {
        ok: false,
        code: "trip_too_far_from_dropoff",
        detail: "No position of yours reached the server: send your location, then complete at the dropoff",
      };
    }
    const away = Math.round(haversineMeters(position, dropoff));
    if (away > limit) {
      return {
        ok: false,
        code: "trip_too_far_from_dropoff",
        detail: `Your last position is ${away} m from the dropoff; complete within ${limit} m of it, or the passenger may end the trip early`,
      };
    }
  }
  const rule = await ruleById(ctx, row.pricingRuleId);
  // Rules are never deleted while rides point at them; a missing one is our bug.
  if (!rule) throw new Error(`pricing rule ${row.pricingRuleId} of ride ${row.id} is missing`);
  // A measured fare uses the surge the ride was priced with at request, not the version's own
  // (null on rides from before it was stored, and on a room's copy from before: the version's).
  const priced = row.surgeMultiplierBp == null ? rule : { ...rule, surgeMultiplierBp: row.surgeMultiplierBp };
  // Read after the last await: the room decides the transition with this same instant.
  const now = ctx.now().getTime();
  const settled = settleFare(
    priced,
    {
      quote: {
        fareCents: row.estimatedFareCents,
        distanceM: row.estimatedDistanceM,
        durationS: row.estimatedDurationS,
      },
      measure,
      durationS: Math.max(0, Math.round((now - startedMs) / 1000)),
      endedEarly,
    },
    {
      distanceTolerancePct: ctx.config.TRIP_DISTANCE_TOLERANCE_PCT,
      durationToleranceS: ctx.config.TRIP_DURATION_TOLERANCE_S,
      capBp: Math.round(ctx.config.TRIP_FARE_CAP_MULTIPLE * 10_000),
    },
  );
  return {
    ok: true,
    action: {
      kind: "complete",
      driverId,
      ...settled,
      driverReportedDistanceM: reported.distance_m ?? null,
      driverReportedDurationS: reported.duration_s ?? null,
      endedEarlyAt: trip.endedEarlyAt ?? null,
    },
  };
}
