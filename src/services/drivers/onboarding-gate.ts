import { eq, type SQL, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import { businessDateOf } from "../../lib/business-days";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/**
 * The condition for a driver row that may take passengers on `at`: approved, with an approved set
 * whose earliest expiry is today (São Paulo) or later. Part of the go-online guarded update, so a
 * suspension racing a go-online cannot leave a suspended driver online.
 */
export function mayDrive(at: Date): SQL {
  const today = businessDateOf(at);
  return sql`(${drivers.onboardingStatus} = 'approved' AND ${drivers.documentsExpireOn} IS NOT NULL AND ${drivers.documentsExpireOn} >= ${today})`;
}

/**
 * Why the guarded go-online found no row: no vehicle first (what every driver meets first),
 * then documents expired (approved with a stale set, or suspended by expiry), then not approved.
 */
export async function refuseGoingOnline(ctx: ServiceContext, driverId: string): Promise<never> {
  const row = await ctx.db.select().from(drivers).where(eq(drivers.userId, driverId)).get();
  if (!row?.vehiclePlate) {
    throw new ApiError("vehicle_required", "Register a vehicle with PUT /v1/drivers/me/vehicle first");
  }
  const today = businessDateOf(ctx.now());
  const stale =
    row.onboardingStatus === "approved" && (!row.documentsExpireOn || row.documentsExpireOn < today);
  if (stale || (row.onboardingStatus === "suspended" && row.suspendedBy === "documents_expired")) {
    throw new ApiError(
      "driver_documents_expired",
      "A document has expired: upload a new one with PUT /v1/drivers/me/documents/{kind}; staff review it",
    );
  }
  const why = row.onboardingReason ? ` (${row.onboardingReason})` : "";
  throw new ApiError(
    "driver_not_approved",
    `Your onboarding is ${row.onboardingStatus}${why}: only approved drivers may go online`,
  );
}
