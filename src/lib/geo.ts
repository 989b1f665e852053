import ngeohash from "ngeohash";

export interface LatLng {
  lat: number;
  lng: number;
}

/**
 * Geohash length of the "near here" index columns. A 5-character cell is about 4.9 km × 4.9 km,
 * so a cell and its 8 neighbours cover every point within one cell width of the centre one.
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

/** The cell of a point and its eight neighbours: the cells to scan for "near this point". */
export function cellsAround(point: LatLng): string[] {
  const cell = cellOf(point);
  return [cell, ...ngeohash.neighbors(cell)];
}
