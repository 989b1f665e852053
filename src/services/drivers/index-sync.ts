import type { LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";
import type { RideRow } from "../rides/state";
import { areaOf } from "./index-port";
import { storedPosition } from "./index-snapshot";

/**
 * Keeps the driver indexes in step with changes decided elsewhere. D1 (or the ride's room) has the
 * last word in each case; the index is told afterwards, and a lost message heals itself: a ping
 * to an index that does not hold the driver asks D1, and a ping forwarded to a ride that is over
 * clears the ride (`recordDriverLocation`).
 */

/**
 * The driver is offline (went offline, blocked, erased, cooling down): the index of the area D1
 * last placed him in forgets him. D1's position names that area because the index writes it
 * when it takes a driver in (`adoptDriver`) and its snapshots are only ever of drivers it holds.
 * `at` is his position as the caller already read it; without it, D1 is asked.
 */
export async function forgetIndexedDriver(
  ctx: ServiceContext,
  driverId: string,
  at?: { lat: number | null; lng: number | null } | null,
): Promise<void> {
  const known = at && at.lat !== null && at.lng !== null ? { lat: at.lat, lng: at.lng } : undefined;
  const point = at === undefined ? await storedPosition(ctx, driverId) : known;
  if (point) await ctx.driverIndex(areaOf(point)).offline(driverId);
}

/** The driver's vehicle now serves another category: dispatch must search him under it. */
export async function indexedVehicleChanged(
  ctx: ServiceContext,
  driverId: string,
  category: string,
  at: { lat: number | null; lng: number | null },
): Promise<void> {
  if (at.lat === null || at.lng === null) return;
  await ctx.driverIndex(areaOf({ lat: at.lat, lng: at.lng })).vehicle(driverId, category);
}

/**
 * A ride's transition as its room persisted it: a driver who no longer has it as his active ride
 * (completed, cancelled, given up for reassignment) is free again. `near` is where the room last
 * saw him (else the pickup), which names his index; a completed ride restarts his idle time.
 */
export async function releaseIndexedDriver(
  ctx: ServiceContext,
  before: RideRow,
  after: RideRow,
  near: LatLng,
): Promise<void> {
  const driverId = before.driverId;
  if (!driverId || !ACTIVE.has(before.status)) return;
  if (after.driverId === driverId && ACTIVE.has(after.status)) return;
  const idleSince = after.status === "completed" ? (after.completedAt ?? ctx.now().toISOString()) : undefined;
  try {
    await ctx.driverIndex(areaOf(near)).rideEnded(driverId, before.id, idleSince);
  } catch (error) {
    ctx.log.warn("driver index not told that a ride ended", { ride_id: after.id, error: String(error) });
  }
}

const ACTIVE: ReadonlySet<string> = new Set(["accepted", "arrived", "in_progress"]);
