import { haversineMeters, type LatLng } from "../../lib/geo";

/** A road distance and driving time between two points, in whole metres and seconds. */
export interface RouteEstimate {
  distance_m: number;
  duration_s: number;
}

/**
 * Estimates a trip before it happens. The composition root (`createServiceContext`) picks the
 * implementation; a real router (OSRM, Google Routes, …) can replace the great-circle one
 * without any caller changing. Implementations return non-negative integers.
 */
export interface RoutingProvider {
  route(from: LatLng, to: LatLng): Promise<RouteEstimate>;
  /**
   * True when it answers from memory with no outside call, so asking it before the service area
   * is known costs nothing (a quote then writes itself in its batch of reads). A paid or slow
   * router leaves it unset and is asked only for a trip that will be priced.
   */
  readonly local?: boolean;
}

/**
 * Roads are longer than the straight line: street-network circuity studies typically measure
 * 1.2 to 1.4 for cities, so 1.3 is the middle of that range.
 */
export const ROAD_FACTOR = 1.3;

/**
 * A door-to-door average for car trips in a large Brazilian city, stops and lights included:
 * a deliberately plain figure, because only a real router knows the traffic.
 */
export const AVERAGE_URBAN_SPEED_KMH = 25;

/**
 * The default provider, with no outside call: distance = round(haversine × ROAD_FACTOR),
 * duration = round(distance ÷ AVERAGE_URBAN_SPEED_KMH), both rounded half up to integers.
 */
export const greatCircleRouting: RoutingProvider = {
  local: true,
  async route(from, to) {
    const distance_m = Math.round(haversineMeters(from, to) * ROAD_FACTOR);
    // metres ÷ (km/h × 1000 / 3600) = seconds; distance is an integer, so this is exact to 1e-12.
    const duration_s = Math.round((distance_m * 3600) / (AVERAGE_URBAN_SPEED_KMH * 1000));
    return { distance_m, duration_s };
  },
};
