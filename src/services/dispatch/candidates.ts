import { sql } from "drizzle-orm";
import { cellsWithin, MAX_COVER_CELLS } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { areasAround, type NearbyDriver } from "../drivers/index-port";
import { creditFloorSql } from "../rides/credit-floor";
import type { RideRow } from "../rides/state";

export interface Candidate {
  driverId: string;
  /** From the driver's position in his area's index to the pickup, great-circle metres. */
  distanceM: number;
  /** Since when the driver has been waiting for a ride (see `nearestEligibleDrivers`). */
  idleSince: string;
}

/**
 * How many of the nearest free drivers the indexes answer for the D1 check: the check drops
 * those D1 finds ineligible, so the shortlist is wider than the batch.
 */
const SHORTLIST_SIZE = 200;

/**
 * The `limit` nearest drivers who may be offered the ride, nearest first, then longest idle.
 * Eligible: online, a vehicle of the ride's category, account not blocked, no active ride, prepaid
 * credit not below the floor of the ride's city (`creditFloorSql`), never offered this ride, and
 * not holding another open offer (a driver holds at most one open offer at a time). Idle since:
 * the later of going online and his last completed ride.
 *
 * Two steps. The driver indexes of the areas the radius touches (usually one) answer the nearest
 * free drivers of the category, from memory; then one D1 statement keeps those D1 finds eligible
 * (status, category, account, active ride, offers, credit: the facts whose system of record is
 * D1), preserving the order. Dispatch runs in the ride's room, not on a request's path, so that one
 * round trip is affordable. The only entry point of the search, so its callers do not change with it.
 */
export async function nearestEligibleDrivers(
  ctx: ServiceContext,
  ride: RideRow,
  radiusM: number,
  limit: number,
): Promise<Candidate[]> {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  if (cellsWithin(pickup, radiusM).length > MAX_COVER_CELLS || limit <= 0) return [];
  const nearby = (await nearbyFree(ctx, ride, radiusM)).slice(0, SHORTLIST_SIZE);
  const shortlist = nearby.filter((driver) => driver.distanceM <= radiusM);
  if (shortlist.length === 0) return [];
  const eligible = await eligibleOnce(ctx, ride, nearby);
  return shortlist
    .filter((driver) => eligible.has(driver.driverId))
    .slice(0, limit)
    .map((driver) => ({
      driverId: driver.driverId,
      distanceM: Math.round(driver.distanceM),
      idleSince: driver.idleSince,
    }));
}

/**
 * Starts asking the indexes for the ride's step (the answer `nearestEligibleDrivers` then uses),
 * without waiting: a failure surfaces where the answer is awaited, or nowhere if it is not.
 */
export function prefetchNearby(ctx: ServiceContext, ride: RideRow): void {
  nearbyFree(ctx, ride, 0).catch(() => undefined);
}

/** One answer of the indexes per ride and context: a dispatch step widening its radius asks once. */
const asked = new WeakMap<ServiceContext, Map<string, Promise<NearbyDriver[]>>>();

/**
 * The free drivers of the ride's category within the widest dispatch radius, from the indexes of
 * the areas it touches. A step that finds nobody within one radius tries the next at once, so the
 * answer is kept for the step's context (one step, milliseconds) instead of asking again.
 */
function nearbyFree(ctx: ServiceContext, ride: RideRow, radiusM: number): Promise<NearbyDriver[]> {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  const widest = Math.max(radiusM, ...ctx.config.DISPATCH_RADIUS_STEPS_M);
  const byRide = asked.get(ctx) ?? new Map<string, Promise<NearbyDriver[]>>();
  asked.set(ctx, byRide);
  const key = `${ride.id}:${ride.category}:${widest}`;
  const known = byRide.get(key);
  if (known) return known;
  const query = { point: pickup, radiusM: widest, category: ride.category, limit: SHORTLIST_SIZE };
  const answer = Promise.all(
    areasAround(pickup, widest).map((area) => ctx.driverIndex(area).nearest(query)),
  ).then((found) => freshestOf(found.flat()));
  byRide.set(key, answer);
  return answer;
}

/**
 * A driver who crossed between areas may briefly be held by two indexes: keep his newest
 * position. Then nearest first, longest idle, and the id for a stable order.
 */
function freshestOf(drivers: NearbyDriver[]): NearbyDriver[] {
  const newest = new Map<string, NearbyDriver>();
  for (const driver of drivers) {
    const held = newest.get(driver.driverId);
    if (!held || driver.seenAt > held.seenAt) newest.set(driver.driverId, driver);
  }
  return [...newest.values()].sort(
    (a, b) =>
      a.distanceM - b.distanceM ||
      a.idleSince.localeCompare(b.idleSince) ||
      a.driverId.localeCompare(b.driverId),
  );
}

/** One D1 check per ride and context: a step widening its radius checks the widest list once. */
const checked = new WeakMap<ServiceContext, Map<string, Promise<Set<string>>>>();

/**
 * Which of the free drivers within the widest radius D1 finds eligible, asked once per step: a
 * step that finds nobody eligible within the first radius widens without another round trip.
 */
function eligibleOnce(ctx: ServiceContext, ride: RideRow, nearby: NearbyDriver[]): Promise<Set<string>> {
  const byRide = checked.get(ctx) ?? new Map<string, Promise<Set<string>>>();
  checked.set(ctx, byRide);
  const known = byRide.get(ride.id);
  if (known) return known;
  const answer = eligibleInD1(
    ctx,
    ride,
    nearby.map((driver) => driver.driverId),
  );
  byRide.set(ride.id, answer);
  return answer;
}

/** The shortlisted drivers D1 finds eligible: one statement, the ids as one JSON parameter. */
async function eligibleInD1(ctx: ServiceContext, ride: RideRow, driverIds: string[]): Promise<Set<string>> {
  const now = ctx.now().toISOString();
  const rows = await ctx.db.all<{ driver_id: string }>(sql`
    SELECT d.user_id AS driver_id
    FROM json_each(${JSON.stringify(driverIds)}) AS j
    JOIN drivers d ON d.user_id = j.value
    JOIN users u ON u.id = d.user_id
    WHERE d.status = 'online'
      AND d.vehicle_category = ${ride.category}
      AND u.status = 'active'
      AND NOT EXISTS (SELECT 1 FROM rides a WHERE a.driver_id = d.user_id
                      AND a.status IN ('accepted', 'arrived', 'in_progress'))
      AND NOT EXISTS (SELECT 1 FROM ride_offers o WHERE o.ride_id = ${ride.id} AND o.driver_id = d.user_id)
      AND NOT EXISTS (SELECT 1 FROM ride_offers h WHERE h.driver_id = d.user_id
                      AND h.status = 'open' AND h.expires_at > ${now})
      AND COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'driver:' || d.user_id || ':credit'), 0)
          >= ${creditFloorSql(ride.cityId)}`);
  return new Set(rows.map((row) => row.driver_id));
}
