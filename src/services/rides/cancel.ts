import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
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
  return act(ctx, rideId, {
    kind: "cancel",
    actor: { id: user.id, role: user.role },
    reason,
    feeCents: rule?.cancellationFeeCents ?? 0,
    graceSeconds: ctx.config.CANCELLATION_GRACE_SECONDS,
  });
}
