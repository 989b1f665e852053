import ngeohash from "ngeohash";

export interface LatLng {
  lat: number;
  lng: number;
}

/**
 * Geohash length of the "near here" index columns: a 5-character cell is about 4.9 km × 4.9 km
 * at the equator (4.5 km wide at São Paulo's latitude).
 */
export const GEOHASH_CELL_PRECISION = 5;

const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres (haversine). */
export function haversineMeters(a: LatLng, b: LatLng): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function cellOf(point: LatLng): string {
  return ngeohash.encode(point.lat, point.lng, GEOHASH_CELL_PRECISION);
}

/**
 * The cells that together cover every point within `radiusM` of `point` (its bounding box):
 * the cells to scan for "near this point". About 9 to 16 cells for a 5 km radius, so one
 * statement with an IN list stays well under D1's 100 bound parameters.
 */
/**
 * D1 binds at most 100 parameters per statement and a cover is one parameter per cell. A 5 km
 * radius needs 9 to 16 cells where people live; only within a few degrees of a pole does it pass
 * this bound, and nobody is served there.
 */
export const MAX_COVER_CELLS = 90;

export function cellsWithin(point: LatLng, radiusM: number): string[] {
  const metresPerDegree = (EARTH_RADIUS_M * Math.PI) / 180;
  const dLat = radiusM / metresPerDegree;
  // A degree of longitude is shortest at the box's poleward edge: measure the span there.
  const poleward = Math.min(Math.abs(point.lat) + dLat, 89);
  const dLng = radiusM / (metresPerDegree * Math.cos((poleward * Math.PI) / 180));
  return ngeohash.bboxes(
    Math.max(point.lat - dLat, -90),
    Math.max(point.lng - dLng, -180),
    Math.min(point.lat + dLat, 90),
    Math.min(point.lng + dLng, 180),
    GEOHASH_CELL_PRECISION,
  );
}
