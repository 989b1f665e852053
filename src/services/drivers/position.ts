import type { LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/**
 * A driver's position (as his area's driver index holds it), if it is fresh enough to act on: no
 * older than DRIVER_POSITION_MAX_AGE_S. Every ping refreshes it, so a pinging driver is always
 * fresh; else `409 driver_position_stale`.
 */
export function freshPosition(
  ctx: ServiceContext,
  stored: { lat: number | null; lng: number | null; seenAt: string | null },
): LatLng {
  const maxAgeS = ctx.config.DRIVER_POSITION_MAX_AGE_S;
  const seenAt = stored.seenAt ? Date.parse(stored.seenAt) : Number.NaN;
  const fresh = ctx.now().getTime() - seenAt <= maxAgeS * 1000;
  if (stored.lat === null || stored.lng === null || !fresh) {
    throw new ApiError(
      "driver_position_stale",
      `Your last position is older than ${maxAgeS} s; send your location first`,
    );
  }
  return { lat: stored.lat, lng: stored.lng };
}
