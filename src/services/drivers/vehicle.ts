import { and, eq, inArray, isNull, notExists, or } from "drizzle-orm";
import { DRIVER_ACTIVE_STATUSES, drivers, rides } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { forgetIndexedDriver, indexedVehicleChanged } from "./index-sync";
import { decideOnboarding, type OnboardingState } from "./onboarding";
import { conditionalAudit, type OnboardingRow, readOnboarding, transitionStamp } from "./onboarding-store";
import { type DriverProfile, toProfile, type Vehicle } from "./profile";

/**
 * Registers or replaces the driver's vehicle. The plate names the vehicle: the same plate (model,
 * colour or category corrected) or a first vehicle is a plain update that keeps the online status
 * (one statement, the usual case); another plate is another vehicle, whose CRLV and photo staff
 * have not seen (`replaceVehicle`).
 */
export async function setVehicle(
  ctx: ServiceContext,
  driverId: string,
  vehicle: Vehicle,
): Promise<DriverProfile> {
  const same = await updateSameVehicle(ctx, driverId, vehicle);
  if (same) return same;
  const state = await readOnboarding(ctx, driverId);
  if (state.vehiclePlate && state.vehiclePlate !== vehicle.plate) {
    return replaceVehicle(ctx, driverId, vehicle, { ...state, vehiclePlate: state.vehiclePlate });
  }
  // The other plate was replaced by this one meanwhile: a plain update after all.
  const again = await updateSameVehicle(ctx, driverId, vehicle);
  if (again) return again;
  throw changedMeanwhile();
}

/** The upsert, applied only if no vehicle or one with the same plate is on file; else undefined. */
async function updateSameVehicle(
  ctx: ServiceContext,
  driverId: string,
  vehicle: Vehicle,
): Promise<DriverProfile | undefined> {
  const fields = {
    vehiclePlate: vehicle.plate,
    vehicleModel: vehicle.model,
    vehicleColor: vehicle.color,
    vehicleCategory: vehicle.category,
    updatedAt: ctx.now().toISOString(),
  };
  const row = await ctx.db
    .insert(drivers)
    .values({ userId: driverId, ...fields })
    .onConflictDoUpdate({
      target: drivers.userId,
      set: fields,
      setWhere: or(isNull(drivers.vehiclePlate), eq(drivers.vehiclePlate, vehicle.plate)),
    })
    .returning()
    .get();
  if (!row) return undefined;
  if (row.status === "online") {
    await indexedVehicleChanged(ctx, driverId, vehicle.category, { lat: row.lastLat, lng: row.lastLng });
  }
  return toProfile(driverId, row);
}

/**
 * Another vehicle: the approved set no longer covers what he drives. One guarded update takes
 * the driver offline and, if he was approved or under review, back to `pending_documents`
 * (audited `driver.vehicle_changed`); he drives again once he uploads the new vehicle's CRLV and
 * staff approve. Refused while he has an active ride (`409 driver_has_active_ride`): the
 * passenger was shown the vehicle that is coming, and the trip must not lose its driver. The
 * ride check is part of the update, so an accept racing it cannot slip in between.
 */
async function replaceVehicle(
  ctx: ServiceContext,
  driverId: string,
  vehicle: Vehicle,
  state: OnboardingRow & { vehiclePlate: string },
): Promise<DriverProfile> {
  const decision = decideOnboarding(state, { type: "vehicle_changed" });
  if (!decision.ok) throw new ApiError("onboarding_transition_invalid", decision.detail);
  const next = decision.next;
  const moves = next.status !== state.status;
  const now = ctx.now();
  const stamp = transitionStamp(now);
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(drivers)
      .set({
        vehiclePlate: vehicle.plate,
        vehicleModel: vehicle.model,
        vehicleColor: vehicle.color,
        vehicleCategory: vehicle.category,
        status: "offline",
        updatedAt: now.toISOString(),
        ...(moves
          ? {
              onboardingStatus: next.status,
              onboardingReason: next.reason,
              suspendedBy: next.suspendedBy,
              onboardingChangedAt: stamp,
              // The approved set was of the old vehicle: nothing approved is valid for this one.
              documentsExpireOn: null,
            }
          : {}),
      })
      .where(
        and(
          eq(drivers.userId, driverId),
          eq(drivers.vehiclePlate, state.vehiclePlate),
          eq(drivers.onboardingStatus, state.status),
          notExists(activeRideQuery(ctx, driverId)),
        ),
      )
      .returning(),
    ...(moves
      ? [
          conditionalAudit(
            ctx,
            {
              actorId: driverId,
              action: "driver.vehicle_changed",
              driverId,
              before: auditView(state),
              after: auditView(next),
            },
            stamp,
          ),
        ]
      : []),
  ]);
  const row = updated[0];
  if (!row) {
    if (await hasActiveRide(ctx, driverId)) {
      throw new ApiError("driver_has_active_ride", "Finish your ride before changing the vehicle");
    }
    throw changedMeanwhile();
  }
  // Out of the driver index at once: no offer may reach him for the vehicle staff have not seen.
  await forgetIndexedDriver(ctx, driverId, { lat: row.lastLat, lng: row.lastLng });
  ctx.log.info("driver.vehicle_changed", { driver_id: driverId, onboarding: next.status });
  return toProfile(driverId, row);
}

const activeRideQuery = (ctx: ServiceContext, driverId: string) =>
  ctx.db
    .select({ id: rides.id })
    .from(rides)
    .where(and(eq(rides.driverId, driverId), inArray(rides.status, [...DRIVER_ACTIVE_STATUSES])))
    .limit(1);

async function hasActiveRide(ctx: ServiceContext, driverId: string): Promise<boolean> {
  return (await activeRideQuery(ctx, driverId).get()) !== undefined;
}

const changedMeanwhile = () =>
  new ApiError(
    "onboarding_transition_invalid",
    "The driver's vehicle or onboarding changed meanwhile; retry",
  );

const auditView = (s: OnboardingState) => ({
  onboarding_status: s.status,
  onboarding_reason: s.reason,
  suspended_by: s.suspendedBy,
});
