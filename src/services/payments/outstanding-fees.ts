import { and, eq, gt, sql } from "drizzle-orm";
import { payments, rides } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

export interface OutstandingFees {
  /** What the passenger owes in cancellation fees, in centavos. */
  totalCents: number;
  /** The cancelled rides whose fee is unpaid; each is paid at `GET /v1/rides/{id}/payment`. */
  rideIds: string[];
}

/**
 * The passenger's unpaid cancellation fees: rides they cancelled with a fee whose payment is
 * missing, pending by Pix, expired or failed. A fee is settled when its payment is paid (or
 * refunded later by staff), and also while a card charge is pending at the provider, which may
 * already have taken the money (the passenger cannot be asked to pay it twice). The query alone,
 * for a caller's batch; `outstandingFeesOf` reads its rows.
 */
export function outstandingFeesQuery(ctx: ServiceContext, passengerId: string) {
  return ctx.db
    .select({ rideId: rides.id, feeCents: rides.cancellationFeeCents })
    .from(rides)
    .leftJoin(payments, and(eq(payments.rideId, rides.id), eq(payments.purpose, "ride")))
    .where(
      and(
        eq(rides.passengerId, passengerId),
        eq(rides.status, "cancelled"),
        gt(rides.cancellationFeeCents, 0),
        sql`(${payments.id} IS NULL OR NOT (${payments.status} IN ('paid', 'partially_refunded', 'refunded') OR (${payments.method} = 'card' AND ${payments.status} = 'pending')))`,
      ),
    )
    .orderBy(rides.id);
}

export function outstandingFeesOf(owed: { rideId: string; feeCents: number | null }[]): OutstandingFees {
  return {
    totalCents: owed.reduce((sum, row) => sum + (row.feeCents ?? 0), 0),
    rideIds: owed.map((row) => row.rideId),
  };
}

export async function outstandingFees(ctx: ServiceContext, passengerId: string): Promise<OutstandingFees> {
  return outstandingFeesOf(await outstandingFeesQuery(ctx, passengerId).all());
}

/**
 * A passenger with an unpaid cancellation fee cannot request a ride until it is paid:
 * `409 outstanding_cancellation_fee`, naming the rides to pay.
 */
export function assertNoOutstandingFee(owed: OutstandingFees): void {
  if (owed.totalCents === 0) return;
  throw new ApiError(
    "outstanding_cancellation_fee",
    `${owed.totalCents} centavos of cancellation fees are unpaid (ride ${owed.rideIds.join(", ")}); pay them at GET /v1/rides/{id}/payment first`,
  );
}
