import type { LatLng } from "../../lib/geo";

/** A closed ring `[[lng, lat], ...]`, GeoJSON order; the first point repeats as the last. */
export type Ring = [number, number][];

export interface BoundingBox {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
}

/** A ring has at most this many points: it is read on every quote. */
export const MAX_RING_POINTS = 200;

/**
 * Why a ring is not a usable service area, or null when it is: at least 4 points (a triangle and
 * its closing point), closed, every point a real coordinate. Self-intersection is not checked;
 * the even-odd rule below still gives every point a definite answer.
 */
export function ringProblem(ring: Ring): string | null {
  if (ring.length < 4) return "needs at least 4 points (a triangle and the closing point)";
  if (ring.length > MAX_RING_POINTS) return `has more than ${MAX_RING_POINTS} points`;
  for (const [lng, lat] of ring) {
    if (!(lng >= -180 && lng <= 180 && lat >= -90 && lat <= 90)) return "has a point off the globe";
  }
  const first = ring[0] as [number, number];
  const last = ring[ring.length - 1] as [number, number];
  if (first[0] !== last[0] || first[1] !== last[1]) return "must be closed: repeat the first point last";
  return null;
}

export function boundingBoxOf(ring: Ring): BoundingBox {
  const lngs = ring.map((p) => p[0]);
  const lats = ring.map((p) => p[1]);
  return {
    minLat: Math.min(...lats),
    maxLat: Math.max(...lats),
    minLng: Math.min(...lngs),
    maxLng: Math.max(...lngs),
  };
}

/** Even-odd point in polygon; a point on an edge counts as inside. */
export function ringContains(ring: Ring, point: LatLng): boolean {
  const x = point.lng;
  const y = point.lat;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as [number, number];
    const [xj, yj] = ring[j] as [number, number];
    if (onSegment(x, y, xi, yi, xj, yj)) return true;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function onSegment(x: number, y: number, x1: number, y1: number, x2: number, y2: number): boolean {
  const cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1);
  if (Math.abs(cross) > 1e-12) return false;
  return x >= Math.min(x1, x2) && x <= Math.max(x1, x2) && y >= Math.min(y1, y2) && y <= Math.max(y1, y2);
}

/** The stored ring, or null when the city has none (its bounding box is its area). */
export function parseRing(cityId: string, json: string | null): Ring | null {
  if (json === null) return null;
  const value = JSON.parse(json) as unknown;
  if (!Array.isArray(value)) throw new Error(`cities.service_area of ${cityId} is not a ring`);
  return value as Ring;
}
