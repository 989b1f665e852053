import { sql } from "drizzle-orm";
import { cellsWithin, haversineMeters, MAX_COVER_CELLS } from "../../lib/geo";
import type { ServiceContext } from "../context";
import type { RideRow } from "../rides/state";

export interface Candidate {
  driverId: string;
  /** From the driver's stored position to the pickup, great-circle metres. */
  distanceM: number;
  /** Since when the driver has been waiting for a ride (see `nearestEligibleDrivers`). */
  idleSince: string;
}

const METRES_PER_DEGREE = (6_371_008.8 * Math.PI) / 180;

/**
 * The `limit` nearest drivers who may be offered the ride, nearest first, then longest idle.
 * Eligible: online, a vehicle of the ride's category, account not blocked, no active ride, prepaid
 * credit not below the floor, never offered this ride, and not holding another open offer (a
 * driver holds at most one open offer at a time). Idle since: the later of going online and his
 * last completed ride.
 *
 * One statement: the geohash cells covering the radius narrow the scan (`drivers_online_cell_idx`);
 * an equirectangular distance, exact enough within a city, filters the radius and orders in SQL.
 * The only entry point of the search, so it can move to an index of its own without its callers
 * noticing.
 */
export async function nearestEligibleDrivers(
  ctx: ServiceContext,
  ride: RideRow,
  radiusM: number,
  limit: number,
): Promise<Candidate[]> {
  const pickup = { lat: ride.pickupLat, lng: ride.pickupLng };
  const cells = cellsWithin(pickup, radiusM);
  if (cells.length > MAX_COVER_CELLS || limit <= 0) return [];
  const mLat = METRES_PER_DEGREE;
  const mLng = METRES_PER_DEGREE * Math.cos((pickup.lat * Math.PI) / 180);
  const now = ctx.now().toISOString();
  const rows = await ctx.db.all<{ driver_id: string; lat: number; lng: number; idle_since: string }>(sql`
    SELECT d.user_id AS driver_id, d.last_lat AS lat, d.last_lng AS lng,
      MAX(COALESCE(d.online_since, d.updated_at),
          COALESCE((SELECT MAX(c.completed_at) FROM rides c
                    WHERE c.driver_id = d.user_id AND c.status = 'completed'), '')) AS idle_since,
      ((d.last_lat - ${pickup.lat}) * ${mLat}) * ((d.last_lat - ${pickup.lat}) * ${mLat})
        + ((d.last_lng - ${pickup.lng}) * ${mLng}) * ((d.last_lng - ${pickup.lng}) * ${mLng}) AS d2
    FROM drivers d JOIN users u ON u.id = d.user_id
    WHERE d.status = 'online'
      AND d.last_cell IN (${sql.join(
        cells.map((cell) => sql`${cell}`),
        sql`, `,
      )})
      AND d.vehicle_category = ${ride.category}
      AND d.last_lat IS NOT NULL AND d.last_lng IS NOT NULL
      AND u.status = 'active'
      AND NOT EXISTS (SELECT 1 FROM rides a WHERE a.driver_id = d.user_id
                      AND a.status IN ('accepted', 'arrived', 'in_progress'))
      AND NOT EXISTS (SELECT 1 FROM ride_offers o WHERE o.ride_id = ${ride.id} AND o.driver_id = d.user_id)
      AND NOT EXISTS (SELECT 1 FROM ride_offers h WHERE h.driver_id = d.user_id
                      AND h.status = 'open' AND h.expires_at > ${now})
      AND COALESCE((SELECT balance FROM ledger_accounts WHERE id = 'driver:' || d.user_id || ':credit'), 0)
          >= (SELECT credit_floor_cents FROM settlement_config WHERE id = 1)
      AND d2 <= ${radiusM * radiusM}
    ORDER BY d2, idle_since, d.user_id
    LIMIT ${limit}`);
  return rows.map((row) => ({
    driverId: row.driver_id,
    distanceM: Math.round(haversineMeters(pickup, { lat: row.lat, lng: row.lng })),
    idleSince: row.idle_since,
  }));
}
