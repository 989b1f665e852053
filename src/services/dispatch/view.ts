import type { RideRow } from "../rides/state";
import type { OfferRow } from "./offers";

/** About 110 m: where to drive to, without the passenger's door. */
const PICKUP_DECIMALS = 3;
/** About 1.1 km: which part of town the trip ends in, without the street. */
const DROPOFF_DECIMALS = 2;

const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

/**
 * What a driver learns of a ride offered to him: the pickup area, the dropoff's part of town,
 * his distance to the pickup, the estimate and the category; nothing about the passenger.
 */
export function driverOfferView(ride: RideRow, offer: OfferRow) {
  return {
    id: ride.id,
    category: ride.category,
    pickup: {
      lat: round(ride.pickupLat, PICKUP_DECIMALS),
      lng: round(ride.pickupLng, PICKUP_DECIMALS),
    },
    dropoff: {
      lat: round(ride.dropoffLat, DROPOFF_DECIMALS),
      lng: round(ride.dropoffLng, DROPOFF_DECIMALS),
    },
    payment_method: ride.paymentMethod,
    estimated_fare_cents: ride.estimatedFareCents,
    estimated_distance_m: ride.estimatedDistanceM,
    estimated_duration_s: ride.estimatedDurationS,
    distance_to_pickup_m: offer.distanceM,
    batch: offer.batch,
    created_at: ride.createdAt,
    offered_at: offer.offeredAt,
    /** The offer's window: accept or decline before then. */
    expires_at: offer.expiresAt,
  };
}

export type DriverOfferView = ReturnType<typeof driverOfferView>;
