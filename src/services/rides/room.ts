import type { LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { SocketsEnd } from "../auth/user-channel";
import type { NearbyDriver } from "../drivers/index-port";
import type { ActResult, RideAction, RideRow } from "./state";

/** A driver's live position as it streams to a ride: never written to D1 per ping. */
export interface DriverLocation extends LatLng {
  /** Degrees clockwise from north, 0..360. */
  heading?: number;
  /** Metres per second. */
  speed?: number;
}

/** What the driver's app says of a trip at completion: recorded, never priced. */
export interface ReportedTrip {
  distance_m?: number;
  duration_s?: number;
}

/**
 * What services ask of a ride's room, the single writer of the ride's state. A refusal comes
 * back as a value, not a throw, because it crosses an RPC boundary.
 */
export interface RideRoomPort {
  /**
   * Records a new ride; idempotent, a second call returns the ride as it is. With `reply`, the
   * request's idempotency record is completed in the same D1 batch (`replyStored` says it was).
   * `nearby`: the driver indexes' answer for the pickup, if the caller already asked them; the
   * room asks them itself otherwise.
   */
  create(row: RideRow, reply?: StoredReply, nearby?: NearbyDriver[]): Promise<CreateResult>;
  act(action: RideAction): Promise<ActResult>;
  /** The assigned driver ends the trip; the room settles the fare from its own trace. */
  complete(driverId: string, reported: ReportedTrip): Promise<ActResult>;
  /** The passenger ends the trip before the dropoff (complete is then allowed anywhere). */
  endEarly(passengerId: string): Promise<ActResult>;
  driverLocation(driverId: string, location: DriverLocation): Promise<ActResult>;
  /** Runs the ride's next dispatch step now instead of at the end of the offer window. */
  dispatchNow(): Promise<void>;
  /**
   * An erased account's part of the ride leaves the room's own storage: the trip's trace and last
   * position always, and for the passenger the places too (rounded as in D1, about 1 km).
   */
  forgetPerson(role: "passenger" | "driver"): Promise<void>;
  /** The ride's status and driver as the room holds them, with no D1 read; null if no such ride. */
  standing(): Promise<RideStanding | null>;
  /** Closes the user's sockets on this ride (of one session, if named); answers how many. */
  closeSockets(userId: string, end: SocketsEnd): Promise<number>;
}

/** The reply to store with a new ride: the request's key, and what it answers. */
export interface StoredReply {
  /** The caller's key and its request's hash (the idempotency service's `KeyRef`). */
  ref: { userId: string; key: string; requestHash: string };
  status: number;
  body: string;
}

export type CreateResult = (ActResult & { ok: false }) | { ok: true; ride: RideRow; replyStored: boolean };

/** A ride as its room holds it, enough to judge an accept without D1. */
export type RideStanding = Pick<
  RideRow,
  "status" | "driverId" | "expiresAt" | "category" | "pickupLat" | "pickupLng"
>;

/** The ride a room answered with, or its refusal as an API error. */
export function rideOrThrow(result: ActResult): RideRow {
  if (!result.ok) throw new ApiError(result.code, result.detail);
  return result.ride;
}
