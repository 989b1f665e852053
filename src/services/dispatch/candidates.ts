import { type SQL, sql } from "drizzle-orm";
import { drivers, users } from "../../db/schema";
import { cellsWithin, type LatLng, MAX_COVER_CELLS } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { areasAround, type NearbyDriver } from "../drivers/index-port";
import { creditFloorSql } from "../rides/credit-floor";
import type { RideRow } from "../rides/state";

/** A nearby driver as a step offers him: how far, and the smallest radius step that reaches him. */
export interface Reach {
  driverId: string;
  /** From the driver's position in his area's index to the pickup, great-circle metres. */
  distanceM: number;
  /** The smallest step of DISPATCH_RADIUS_STEPS_M, from the step's own radius on, that holds him. */
  radiusM: number;
}

/**
 * How many of the nearest free drivers the indexes answer for the D1 check: the check drops
 * those D1 finds ineligible, so the shortlist is wider than the batch.
 */
const SHORTLIST_SIZE = 200;

/**
 * The free drivers of the ride's category within the widest dispatch radius, nearest first, then
 * longest idle, from the driver indexes of the areas the radius touches (usually one), in memory.
 * A step asks once, before its one D1 batch, and picks each radius's batch from this list.
 */
export function nearbyFree(ctx: ServiceContext, ride: RideRow): Promise<NearbyDriver[]> {
  return nearbyFreeAt(ctx, { lat: ride.pickupLat, lng: ride.pickupLng }, ride.category);
}

/** The same list for a pickup and category, before the ride exists (`createRide` asks early). */
export async function nearbyFreeAt(
  ctx: ServiceContext,
  pickup: LatLng,
  category: string,
): Promise<NearbyDriver[]> {
  const widest = Math.max(...ctx.config.DISPATCH_RADIUS_STEPS_M);
  const query = { point: pickup, radiusM: widest, category, limit: SHORTLIST_SIZE };
  const found = await Promise.all(
    searchedAreas(ctx, pickup).map((area) => ctx.driverIndex(area).nearest(query)),
  );
  return freshestOf(found.flat()).slice(0, SHORTLIST_SIZE);
}

/** The areas whose indexes a search around `pickup` asks: those its widest radius touches. */
export function searchedAreas(ctx: ServiceContext, pickup: LatLng): string[] {
  return areasAround(pickup, Math.max(...ctx.config.DISPATCH_RADIUS_STEPS_M));
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

/**
 * The nearby drivers a step may reach, nearest first, each with the smallest radius step from
 * `fromRadius` (an index into DISPATCH_RADIUS_STEPS_M) on that holds him. A step whose radius
 * would cover more cells than a search may touch is skipped; a driver beyond every step is left out.
 */
export function reachOf(
  ctx: ServiceContext,
  ride: RideRow,
  nearby: NearbyDriver[],
  fromRadius: number,
): Reach[] {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  const steps = ctx.config.DISPATCH_RADIUS_STEPS_M.slice(fromRadius).filter(
    (radiusM) => cellsWithin(pickup, radiusM).length <= MAX_COVER_CELLS,
  );
  const reach: Reach[] = [];
  for (const driver of nearby) {
    const radiusM = steps.find((step) => driver.distanceM <= step);
    if (radiusM !== undefined) {
      reach.push({ driverId: driver.driverId, distanceM: Math.round(driver.distanceM), radiusM });
    }
  }
  return reach;
}

/**
 * Whether `driver` (a `drivers.user_id` in the statement, the `drivers` and `users` rows joined)
 * may be offered the ride, by the facts whose system of record is D1: online, a vehicle of the
 * ride's category, account not blocked, no active ride, never offered this ride, not holding
 * another open offer (a driver holds at most one open offer at a time), prepaid credit not below
 * the floor of the ride's city (`creditFloorSql`).
 */
export function eligibleSql(ride: RideRow, at: string): SQL {
  const driver = drivers.userId;
  return sql`${drivers.status} = 'online'
      AND ${drivers.vehicleCategory} = ${ride.category}
      AND ${users.status} = 'active'
      AND NOT EXISTS (SELECT 1 FROM rides a WHERE a.driver_id = ${driver}
                      AND a.status IN ('accepted', 'arrived', 'in_progress'))
      AND NOT EXISTS (SELECT 1 FROM ride_offers o WHERE o.ride_id = ${ride.id} AND o.driver_id = ${driver})
      AND NOT EXISTS (SELECT 1 FROM ride_offers h WHERE h.driver_id = ${driver}
                      AND h.status = 'open' AND h.expires_at > ${at})
      AND COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'driver:' || ${driver} || ':credit'), 0)
          >= ${creditFloorSql(ride.cityId)}`;
}
