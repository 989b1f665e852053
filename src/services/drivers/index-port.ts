import { cellOf, cellsWithin, type LatLng } from "../../lib/geo";

/**
 * Geohash length of a driver index's area: 3 characters is about 156 km × 156 km at the equator
 * (143 km wide at São Paulo's latitude), a metropolitan area and its surroundings. Each area has
 * one index; a search near an area's edge asks the neighbouring ones too (`areasAround`).
 */
export const DRIVER_INDEX_AREA_PRECISION = 3;

/**
 * How often an index writes the positions its pings moved to D1, one batch for all of them: D1's
 * copy is for reports and for rebuilding a lost index, never read on a request's path.
 */
export const LOCATION_SNAPSHOT_INTERVAL_MS = 30_000;

/** The area whose index holds a driver at `point`. */
export function areaOf(point: LatLng): string {
  return cellOf(point).slice(0, DRIVER_INDEX_AREA_PRECISION);
}

/** The areas a circle around `point` touches: usually one, two to four near an area's edge. */
export function areasAround(point: LatLng, radiusM: number): string[] {
  return [...new Set(cellsWithin(point, radiusM).map((cell) => cell.slice(0, DRIVER_INDEX_AREA_PRECISION)))];
}

/** An online driver as his area's index holds him. */
export interface IndexedDriver {
  driverId: string;
  category: string;
  lat: number;
  lng: number;
  /** Server time (epoch ms) of the position: the last ping, or going online. */
  seenAt: number;
  /** His accepted ride until it ends; a driver with one is busy. */
  rideId: string | null;
  /** Since when he waits for a ride: the later of going online and his last completed ride. */
  idleSince: string;
}

/** A driver near a point, as the index found him. */
export interface NearbyDriver extends IndexedDriver {
  distanceM: number;
}

export type PingResult = { ok: true; rideId: string | null } | { ok: false };

/**
 * What services ask of an area's driver index (a Durable Object placed in South America). It holds
 * only online drivers; D1 stays the system of record for status, and receives positions as a
 * periodic snapshot written by the index itself.
 */
export interface DriverIndexPort {
  /** The driver went online (or online again) here: holds him with these facts. */
  online(driver: IndexedDriver): Promise<void>;
  /** The driver went offline, was blocked or erased: the index forgets him. */
  offline(driverId: string): Promise<void>;
  /**
   * A location ping at server time `at` (epoch ms). A driver the index holds costs no D1 round
   * trip; one it does not hold (a restarted index, a driver who crossed into this area) is looked
   * up once in D1 and held if D1 says he is online. `{ ok: false }`: he is offline.
   */
  ping(driverId: string, location: LatLng, at: number): Promise<PingResult>;
  /** The driver as held here, or null. */
  locate(driverId: string): Promise<IndexedDriver | null>;
  /**
   * Free drivers of a category within `radiusM` of `point`, nearest first, then longest idle: no
   * ride, and no open offer as far as the index was told (`offersOpened`).
   */
  nearest(query: {
    point: LatLng;
    radiusM: number;
    category: string;
    limit: number;
  }): Promise<NearbyDriver[]>;
  /** The driver took a ride: he is busy until it ends. Ignored for a driver not held here. */
  rideTaken(driverId: string, rideId: string): Promise<void>;
  /** His ride `rideId` ended (if still his); `idleSince` when he completed it. */
  rideEnded(driverId: string, rideId: string, idleSince?: string): Promise<void>;
  /**
   * A hint for `nearest`: these drivers hold an open offer of `rideId` until `until` (epoch ms),
   * so searches leave them out until then. D1 stays the guard against a second open offer; a lost
   * hint only costs the offer statements a few more drivers to check.
   */
  offersOpened(rideId: string, driverIds: string[], until: number): Promise<void>;
  /** Their offers of `rideId` closed before the window ended (declined, withdrawn). */
  offersClosed(rideId: string, driverIds: string[]): Promise<void>;
  /** The driver's vehicle changed category. */
  vehicle(driverId: string, category: string): Promise<void>;
}

/** The port as a context offers it: one index per area. */
export type DriverIndexOf = (area: string) => DriverIndexPort;
