import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { recordDriverCancellation } from "../drivers/cancellations";
import { startCancellationFeePayment } from "../payments/cancellation-fee";
import { ruleById } from "../pricing/fares";
import { act } from "./act";
import { visibleRide } from "./queries";
import type { RideView } from "./view";

export async function cancelRide(
  ctx: ServiceContext,
  user: AuthUser,
  rideId: string,
  reason: string,
): Promise<RideView> {
  const row = await visibleRide(ctx, user, rideId);
  if (user.role !== "passenger" && user.role !== "driver") throw new ApiError("forbidden");
  const rule = await ruleById(ctx, row.pricingRuleId);
  const ride = await act(ctx, rideId, {
    kind: "cancel",
    actor: { id: user.id, role: user.role },
    reason,
    feeCents: rule?.cancellationFeeCents ?? 0,
    graceSeconds: rule?.cancellationGraceSeconds ?? ctx.config.CANCELLATION_GRACE_SECONDS,
    requestTtlSeconds: ctx.config.RIDE_REQUEST_TTL_SECONDS,
  });
  if (user.role === "passenger") await collectCancellationFee(ctx, ride);
  if (user.role === "driver") await recordDriverCancellation(ctx, user.id, rideId, reason);
  return ride;
}

/**
 * A fee `decide` charged starts its payment now. A provider failure never fails the
 * cancellation, which is already durable: it is logged, and reading the ride's payment (or
 * retrying a card) later creates what is missing.
 */
async function collectCancellationFee(ctx: ServiceContext, ride: RideView): Promise<void> {
  if (!ride.cancellation_fee_cents) return;
  try {
    await startCancellationFeePayment(ctx, ride);
  } catch (error) {
    ctx.log.error("payment.cancellation_fee_start_failed", {
      ride_id: ride.id,
      payment_method: ride.payment_method,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
    });
  }
}
