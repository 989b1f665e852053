import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cellOf, cellsWithin, haversineMeters, type LatLng } from "../../src/lib/geo";

/** The point `distance` metres from `from` on `bearing` degrees (spherical Earth). */
function destination(from: LatLng, bearingDeg: number, distance: number): LatLng {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const d = distance / R;
  const b = bearingDeg * rad;
  const lat1 = from.lat * rad;
  const lng1 = from.lng * rad;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(b));
  const lng2 =
    lng1 +
    Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: lat2 / rad, lng: lng2 / rad };
}

describe("cellsWithin", () => {
  it("covers every point within the radius, wherever the centre sits in its cell", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -24, max: -23, noNaN: true }),
        fc.double({ min: -47, max: -46, noNaN: true }),
        fc.double({ min: 0, max: 360, noNaN: true }),
        fc.double({ min: 0, max: 4999, noNaN: true }),
        (lat, lng, bearing, distance) => {
          const centre = { lat, lng };
          const target = destination(centre, bearing, distance);
          expect(haversineMeters(centre, target)).toBeLessThan(5000);
          expect(cellsWithin(centre, 5000)).toContain(cellOf(target));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("stays a short list that fits one statement's bound parameters", () => {
    const cells = cellsWithin({ lat: -23.55, lng: -46.63 }, 5000);
    expect(cells.length).toBeGreaterThanOrEqual(4);
    expect(cells.length).toBeLessThanOrEqual(16);
  });
});
