import { eq, sql } from "drizzle-orm";
import { drivers, users } from "../../db/schema";
import { cellsWithin, MAX_COVER_CELLS } from "../../lib/geo";
import type { ServiceContext } from "../context";
import { areasAround, type NearbyDriver } from "../drivers/index-port";
import { creditFloorSql } from "../rides/credit-floor";
import type { RideRow } from "../rides/state";

export interface Candidate {
  driverId: string;
  /** From the driver's position in his area's index to the pickup, great-circle metres. */
  distanceM: number;
  /** Since when the driver has been waiting for a ride (see `candidatesWithin`). */
  idleSince: string;
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
export async function nearbyFree(ctx: ServiceContext, ride: RideRow): Promise<NearbyDriver[]> {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  const widest = Math.max(...ctx.config.DISPATCH_RADIUS_STEPS_M);
  const query = { point: pickup, radiusM: widest, category: ride.category, limit: SHORTLIST_SIZE };
  const found = await Promise.all(
    areasAround(pickup, widest).map((area) => ctx.driverIndex(area).nearest(query)),
  );
  return freshestOf(found.flat()).slice(0, SHORTLIST_SIZE);
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
 * The statement, for the step's batch, answering which of the nearby drivers D1 finds eligible
 * (the facts whose system of record is D1): online, a vehicle of the ride's category, account not
 * blocked, no active ride, never offered this ride, not holding another open offer (a driver holds
 * at most one open offer at a time), prepaid credit not below the floor of the ride's city
 * (`creditFloorSql`). The ids go as one JSON parameter. Placed after the sweep in the batch, it
 * sees the offers the sweep just closed as closed.
 */
export function eligibleStatement(ctx: ServiceContext, ride: RideRow, nearby: NearbyDriver[], now: Date) {
  const driverIds = JSON.stringify(nearby.map((driver) => driver.driverId));
  const at = now.toISOString();
  const driver = drivers.userId;
  return ctx.db
    .select({ driverId: driver })
    .from(drivers)
    .innerJoin(users, eq(users.id, driver))
    .where(sql`${driver} IN (SELECT value FROM json_each(${driverIds}))
      AND ${drivers.status} = 'online'
      AND ${drivers.vehicleCategory} = ${ride.category}
      AND ${users.status} = 'active'
      AND NOT EXISTS (SELECT 1 FROM rides a WHERE a.driver_id = ${driver}
                      AND a.status IN ('accepted', 'arrived', 'in_progress'))
      AND NOT EXISTS (SELECT 1 FROM ride_offers o WHERE o.ride_id = ${ride.id} AND o.driver_id = ${driver})
      AND NOT EXISTS (SELECT 1 FROM ride_offers h WHERE h.driver_id = ${driver}
                      AND h.status = 'open' AND h.expires_at > ${at})
      AND COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'driver:' || ${driver} || ':credit'), 0)
          >= ${creditFloorSql(ride.cityId)}`);
}

/**
 * The `limit` nearest drivers within `radiusM` who may be offered the ride, nearest first, then
 * longest idle (the order `nearbyFree` answers), among those D1 found eligible. Idle since: the
 * later of going online and his last completed ride.
 */
export function candidatesWithin(
  ride: RideRow,
  nearby: NearbyDriver[],
  eligible: Set<string>,
  radiusM: number,
  limit: number,
): Candidate[] {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  if (cellsWithin(pickup, radiusM).length > MAX_COVER_CELLS || limit <= 0) return [];
  return nearby
    .filter((driver) => driver.distanceM <= radiusM && eligible.has(driver.driverId))
    .slice(0, limit)
    .map((driver) => ({
      driverId: driver.driverId,
      distanceM: Math.round(driver.distanceM),
      idleSince: driver.idleSince,
    }));
}
