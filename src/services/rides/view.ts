import type { RideRow } from "./state";

/** The API shape of a ride, plus the fields a client needs beyond the row's columns. */
export function rideView(row: RideRow) {
  return {
    id: row.id,
    status: row.status,
    passenger_id: row.passengerId,
    driver_id: row.driverId,
    category: row.category,
    pickup: { lat: row.pickupLat, lng: row.pickupLng },
    dropoff: { lat: row.dropoffLat, lng: row.dropoffLng },
    payment_method: row.paymentMethod,
    quote_id: row.quoteId,
    estimated_fare_cents: row.estimatedFareCents,
    estimated_distance_m: row.estimatedDistanceM,
    estimated_duration_s: row.estimatedDurationS,
    final_fare_cents: row.finalFareCents,
    distance_m: row.distanceM,
    duration_s: row.durationS,
    cancellation_fee_cents: row.cancellationFeeCents,
    cancelled_by: row.cancelledBy,
    cancel_reason: row.cancelReason,
    seq: row.lastSeq,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    accepted_at: row.acceptedAt,
    arrived_at: row.arrivedAt,
    started_at: row.startedAt,
    completed_at: row.completedAt,
    cancelled_at: row.cancelledAt,
    expired_at: row.expiredAt,
  };
}

export type RideView = ReturnType<typeof rideView>;

/** What a nearby driver learns of a new ride: no passenger data (as GET /v1/rides/available). */
export function offerView(row: RideRow) {
  return {
    id: row.id,
    category: row.category,
    pickup: { lat: row.pickupLat, lng: row.pickupLng },
    dropoff: { lat: row.dropoffLat, lng: row.dropoffLng },
    payment_method: row.paymentMethod,
    estimated_fare_cents: row.estimatedFareCents,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
  };
}
