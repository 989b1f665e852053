import { eq } from "drizzle-orm";
import { drivers } from "../../db/schema";
import type { LatLng } from "../../lib/geo";
import type { ServiceContext } from "../context";

export interface Vehicle {
  /** Normalised: upper case, no dash or space (ABC1234 or Mercosul ABC1D23). */
  plate: string;
  model: string;
  color: string;
  category: string;
}

export interface DriverProfile {
  user_id: string;
  status: "offline" | "online";
  vehicle: Vehicle | null;
  location: LatLng | null;
  last_seen_at: string | null;
}

type DriverRow = typeof drivers.$inferSelect;

/** The API shape of a driver's row; no row reads as offline with no vehicle. */
export function toProfile(driverId: string, row: DriverRow | undefined): DriverProfile {
  if (!row)
    return { user_id: driverId, status: "offline", vehicle: null, location: null, last_seen_at: null };
  const { vehiclePlate, vehicleModel, vehicleColor, vehicleCategory, lastLat, lastLng } = row;
  return {
    user_id: row.userId,
    status: row.status,
    vehicle:
      vehiclePlate && vehicleModel && vehicleColor && vehicleCategory
        ? { plate: vehiclePlate, model: vehicleModel, color: vehicleColor, category: vehicleCategory }
        : null,
    location: lastLat !== null && lastLng !== null ? { lat: lastLat, lng: lastLng } : null,
    last_seen_at: row.lastSeenAt,
  };
}

/** The driver's profile; a driver who never registered a vehicle is offline with no vehicle. */
export async function getDriverProfile(ctx: ServiceContext, driverId: string): Promise<DriverProfile> {
  const row = await ctx.db.select().from(drivers).where(eq(drivers.userId, driverId)).get();
  return toProfile(driverId, row);
}
