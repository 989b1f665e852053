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
    driver_reported_distance_m: row.driverReportedDistanceM,
    driver_reported_duration_s: row.driverReportedDurationS,
    fare_review: row.fareReview,
    ended_early_at: row.endedEarlyAt,
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
    expired_reason: row.expiredReason,
  };
}

export type RideView = ReturnType<typeof rideView>;

/**
 * Decimal places an offer shows: the pickup to 3 (about 110 m, the block, enough to judge the
 * drive there), the dropoff to 2 (about 1.1 km, the neighbourhood, enough to judge the trip).
 * The exact points, like the passenger, are shown only to the driver who accepts.
 */
export const OFFER_PICKUP_DECIMALS = 3;
export const OFFER_DROPOFF_DECIMALS = 2;

const rounded = (value: number, decimals: number) => Number(value.toFixed(decimals));

/** A pickup and dropoff as an offer shows them (see OFFER_PICKUP_DECIMALS). */
export function offerPoints(row: Pick<RideRow, "pickupLat" | "pickupLng" | "dropoffLat" | "dropoffLng">) {
  return {
    pickup: {
      lat: rounded(row.pickupLat, OFFER_PICKUP_DECIMALS),
      lng: rounded(row.pickupLng, OFFER_PICKUP_DECIMALS),
    },
    dropoff: {
      lat: rounded(row.dropoffLat, OFFER_DROPOFF_DECIMALS),
      lng: rounded(row.dropoffLng, OFFER_DROPOFF_DECIMALS),
    },
  };
}

/**
 * What a driver who is not assigned learns of a requested ride (offers, `GET /v1/rides/{id}`):
 * no passenger data, the pickup and dropoff rounded to the area.
 */
export function offerView(row: RideRow) {
  return {
    id: row.id,
    status: row.status,
    category: row.category,
    ...offerPoints(row),
    payment_method: row.paymentMethod,
    estimated_fare_cents: row.estimatedFareCents,
    estimated_distance_m: row.estimatedDistanceM,
    estimated_duration_s: row.estimatedDurationS,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
  };
}

export type OfferView = ReturnType<typeof offerView>;
