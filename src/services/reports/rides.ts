import { sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { everyDate, mean, type ReportRange, rowOf } from "./range";

export interface RideReportRow {
  date: string;
  requested: number;
  accepted: number;
  completed: number;
  cancelled_by_passenger: number;
  cancelled_by_driver: number;
  cancelled_by_system: number;
  driver_gave_back: number;
  expired: number;
  acceptance_rate: number | null;
  avg_wait_to_accept_s: number | null;
  avg_wait_to_pickup_s: number | null;
}

interface Bucket {
  metric: "requested" | "accepted" | "completed" | "cancelled" | "gave_back" | "expired";
  who: string | null;
  hour: string;
  n: number;
  accepted_n: number;
  accept_s: number | null;
  arrived_n: number;
  pickup_s: number | null;
}

/**
 * Rides of the city per local day, each counted on the day of its own event: requested on the
 * request's day, accepted on the acceptance's, and so on. The acceptance rate and the waits are
 * of the rides requested that day (a ride requested at 23:59 and accepted at 00:01 counts as
 * accepted for its request's day). The wait to pickup runs from the request to the driver's
 * arrival. A driver giving a ride back is not a cancellation of the ride (it is offered again):
 * it is counted apart.
 */
export async function ridesReport(ctx: ServiceContext, range: ReportRange): Promise<RideReportRow[]> {
  const { cityId, startUtc: start, endUtc: end } = range;
  // D1 allows few terms in one compound SELECT: two queries of three, run together.
  const [byRequest, byOutcome] = await Promise.all([
    ctx.db.all<Bucket>(sql`
    SELECT 'requested' AS metric, NULL AS who, substr(created_at, 1, 13) AS hour, COUNT(*) AS n,
      SUM(accepted_at IS NOT NULL) AS accepted_n,
      SUM(CASE WHEN accepted_at IS NOT NULL THEN (julianday(accepted_at) - julianday(created_at)) * 86400 END) AS accept_s,
      SUM(arrived_at IS NOT NULL) AS arrived_n,
      SUM(CASE WHEN arrived_at IS NOT NULL THEN (julianday(arrived_at) - julianday(created_at)) * 86400 END) AS pickup_s
    FROM rides WHERE city_id = ${cityId} AND created_at >= ${start} AND created_at < ${end} GROUP BY hour
    UNION ALL
    SELECT 'accepted', NULL, substr(accepted_at, 1, 13) AS hour, COUNT(*), 0, NULL, 0, NULL
    FROM rides WHERE city_id = ${cityId} AND accepted_at >= ${start} AND accepted_at < ${end} GROUP BY hour
    UNION ALL
    SELECT 'completed', NULL, substr(completed_at, 1, 13) AS hour, COUNT(*), 0, NULL, 0, NULL
    FROM rides WHERE city_id = ${cityId} AND status = 'completed' AND completed_at >= ${start} AND completed_at < ${end}
    GROUP BY hour`),
    ctx.db.all<Bucket>(sql`
    SELECT 'cancelled' AS metric, cancelled_by AS who, substr(cancelled_at, 1, 13) AS hour, COUNT(*) AS n,
      0 AS accepted_n, NULL AS accept_s, 0 AS arrived_n, NULL AS pickup_s
    FROM rides WHERE city_id = ${cityId} AND status = 'cancelled' AND cancelled_at >= ${start} AND cancelled_at < ${end}
    GROUP BY hour, cancelled_by
    UNION ALL
    SELECT 'gave_back', NULL, substr(c.at, 1, 13) AS hour, COUNT(*), 0, NULL, 0, NULL
    FROM driver_cancellations c JOIN rides r ON r.id = c.ride_id
    WHERE r.city_id = ${cityId} AND c.at >= ${start} AND c.at < ${end} GROUP BY hour
    UNION ALL
    SELECT 'expired', NULL, substr(expired_at, 1, 13) AS hour, COUNT(*), 0, NULL, 0, NULL
    FROM rides WHERE city_id = ${cityId} AND status = 'expired' AND expired_at >= ${start} AND expired_at < ${end}
    GROUP BY hour`),
  ]);
  const buckets = [...byRequest, ...byOutcome];

  const sums = everyDate(range, (date) => ({
    date,
    requested: 0,
    accepted: 0,
    completed: 0,
    cancelled_by_passenger: 0,
    cancelled_by_driver: 0,
    cancelled_by_system: 0,
    driver_gave_back: 0,
    expired: 0,
    acceptedOfRequested: 0,
    acceptSeconds: 0,
    arrived: 0,
    pickupSeconds: 0,
  }));
  for (const b of buckets) {
    const row = rowOf(range, sums, b.hour);
    if (!row) continue;
    switch (b.metric) {
      case "requested":
        row.requested += b.n;
        row.acceptedOfRequested += b.accepted_n;
        row.acceptSeconds += b.accept_s ?? 0;
        row.arrived += b.arrived_n;
        row.pickupSeconds += b.pickup_s ?? 0;
        break;
      case "cancelled":
        if (b.who === "passenger") row.cancelled_by_passenger += b.n;
        else if (b.who === "driver") row.cancelled_by_driver += b.n;
        else row.cancelled_by_system += b.n;
        break;
      case "gave_back":
        row.driver_gave_back += b.n;
        break;
      default:
        row[b.metric] += b.n;
    }
  }
  return [...sums.values()].map(({ acceptedOfRequested, acceptSeconds, arrived, pickupSeconds, ...row }) => ({
    ...row,
    acceptance_rate:
      row.requested > 0 ? Math.round((acceptedOfRequested / row.requested) * 10_000) / 10_000 : null,
    avg_wait_to_accept_s: mean(acceptSeconds, acceptedOfRequested),
    avg_wait_to_pickup_s: mean(pickupSeconds, arrived),
  }));
}
