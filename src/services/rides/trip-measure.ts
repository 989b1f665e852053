import { haversineMeters, type LatLng } from "../../lib/geo";

/** One position of the assigned driver during the trip, stamped with the server's clock (ms). */
export interface TracePoint extends LatLng {
  at: number;
}

/** 50 m/s is 180 km/h: faster than any car in a city, so a point implying it is a GPS jump. */
export const MAX_PLAUSIBLE_SPEED_MPS = 50;

/** Fewer plausible points than this and the trip is unmeasured (the app was mostly offline). */
export const MIN_TRACE_POINTS = 5;

/**
 * Thinning: a ping is stored only when it is this far from the last stored point or this long
 * after it, so a driver app pinging every 2–4 s stores about one point per 20 m while moving
 * and one per 15 s while stopped.
 */
export const TRACE_MIN_STEP_M = 20;
export const TRACE_MIN_INTERVAL_MS = 15_000;

/**
 * Hard bound on stored points per ride: 5,000 points is 100 km of movement at the thinning step,
 * or 21 h stopped. A trace that reaches it is no longer trusted (see `measureTrace`).
 */
export const TRACE_MAX_POINTS = 5_000;

/** Whether a new ping is worth storing after the last stored point (see the thinning constants). */
export function worthStoring(last: TracePoint | undefined, next: TracePoint): boolean {
  if (!last) return true;
  return next.at - last.at >= TRACE_MIN_INTERVAL_MS || haversineMeters(last, next) >= TRACE_MIN_STEP_M;
}

/**
 * The plausible points, in order: a point that implies more than MAX_PLAUSIBLE_SPEED_MPS from the
 * previous kept point is dropped, and the next point is measured from the last kept one. Points
 * stamped at the same instant as the kept point only count if they did not move.
 */
export function plausiblePoints(points: readonly TracePoint[]): TracePoint[] {
  const kept: TracePoint[] = [];
  for (const point of points) {
    const previous = kept.at(-1);
    if (!previous) {
      kept.push(point);
      continue;
    }
    const metres = haversineMeters(previous, point);
    const seconds = (point.at - previous.at) / 1000;
    if (seconds < 0) continue;
    if (seconds === 0 ? metres > 0 : metres / seconds > MAX_PLAUSIBLE_SPEED_MPS) continue;
    kept.push(point);
  }
  return kept;
}

export type TraceMeasure =
  | { measured: true; distanceM: number; points: number; last: TracePoint }
  | { measured: false; reason: "too_few_points" | "trace_full"; last: TracePoint | undefined };

/**
 * The distance along the trace, in whole metres, after dropping GPS jumps. Too few plausible
 * points (the app was offline) or a `truncated` trace (it hit TRACE_MAX_POINTS, so its end was
 * not stored) is "unmeasured": the fare then falls back to the quote. `last` is the last
 * plausible point either way: where the driver is, as far as the server believes.
 */
export function measureTrace(points: readonly TracePoint[], truncated = false): TraceMeasure {
  const kept = plausiblePoints(points);
  const last = kept.at(-1);
  if (truncated) return { measured: false, reason: "trace_full", last };
  if (kept.length < MIN_TRACE_POINTS || !last) return { measured: false, reason: "too_few_points", last };
  let metres = 0;
  for (let i = 1; i < kept.length; i++) metres += haversineMeters(kept[i - 1] as LatLng, kept[i] as LatLng);
  return { measured: true, distanceM: Math.round(metres), points: kept.length, last };
}
