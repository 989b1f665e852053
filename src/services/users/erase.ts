import { and, eq, inArray, ne, or, sql } from "drizzle-orm";
import {
  DRIVER_ACTIVE_STATUSES,
  devices,
  driverDocuments,
  drivers,
  idempotencyKeys,
  ledgerAccounts,
  notifications,
  PASSENGER_ACTIVE_STATUSES,
  paymentMethods,
  payouts,
  quotes,
  ratings,
  refreshTokens,
  rideEvents,
  rides,
  users,
  webhookEvents,
} from "../../db/schema";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { verifyPassword } from "../../lib/password";
import { STAFF_ROLES } from "../../lib/permissions";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import { closeUserSockets } from "../auth/end-sessions";
import type { ServiceContext } from "../context";
import { forgetIndexedDriver } from "../drivers/index-sync";
import {
  assertNoOutstandingFee,
  outstandingFeesOf,
  outstandingFeesQuery,
} from "../payments/outstanding-fees";
import { enforceRateLimit, resetRateLimit } from "../requests/rate-limit";

/**
 * What is refused before anything is erased: the caller must settle it first. A debt would be
 * lost with the person: an unpaid cancellation fee (its Pix charge could no longer reach anyone)
 * or a driver's negative balance (any non-zero account refuses, money of his or owed).
 */
async function assertErasable(ctx: ServiceContext, userId: string): Promise<void> {
  const [passengerRide, driverRide, wallet, inTransit, fees] = await ctx.db.batch([
    ctx.db
      .select({ id: rides.id })
      .from(rides)
      .where(and(eq(rides.passengerId, userId), inArray(rides.status, [...PASSENGER_ACTIVE_STATUSES])))
      .limit(1),
    ctx.db
      .select({ id: rides.id })
      .from(rides)
      .where(and(eq(rides.driverId, userId), inArray(rides.status, [...DRIVER_ACTIVE_STATUSES])))
      .limit(1),
    ctx.db
      .select({ kind: ledgerAccounts.kind, balance: ledgerAccounts.balance })
      .from(ledgerAccounts)
      .where(
        and(
          eq(ledgerAccounts.ownerType, "driver"),
          eq(ledgerAccounts.ownerId, userId),
          ne(ledgerAccounts.balance, 0),
        ),
      ),
    ctx.db
      .select({ id: payouts.id })
      .from(payouts)
      .where(and(eq(payouts.driverId, userId), eq(payouts.status, "in_transit")))
      .limit(1),
    outstandingFeesQuery(ctx, userId),
  ]);
  if (passengerRide[0]) throw new ApiError("passenger_has_active_ride", "Finish or cancel your ride first");
  if (driverRide[0]) throw new ApiError("driver_has_active_ride", "Finish your ride first");
  assertNoOutstandingFee(outstandingFeesOf(fees));
  if (wallet.length > 0 || inTransit[0]) {
    const held = wallet.map((a) => `${a.kind} ${a.balance} centavos`).join(", ");
    throw new ApiError(
      "wallet_not_settled",
      `Settle the wallet first (withdraw what is yours, pay what is owed${held ? `: ${held}` : ""}${inTransit[0] ? "; a payout is in transit" : ""})`,
    );
  }
}

/**
 * Closes and anonymises the caller's account (LGPD art. 18, VI), after checking the password.
 * Personal fields are replaced or erased everywhere in D1 in one batch, the driver's files are
 * deleted from R2, every socket is closed and the user channel's event history dropped. What the law makes us keep stays without the
 * person in it: rides (fiscal facts, coordinates rounded to about 1 km), payments, payouts
 * (Pix key erased), ledger entries (untouched: they carry ids and amounts only), audit entries
 * and consents. Anyone with an active ride or a debt, and a driver with money in the wallet, is
 * refused first (`assertErasable`).
 */
export async function eraseAccount(
  ctx: ServiceContext,
  userId: string,
  input: { password: string; ip: string },
) {
  const user = await ctx.db.select().from(users).where(eq(users.id, userId)).get();
  if (!user) throw new ApiError("not_found", "No such user");
  if ((STAFF_ROLES as readonly string[]).includes(user.role)) {
    throw new ApiError("forbidden", "Staff accounts are closed by an administrator, not erased here");
  }
  // Wrong passwords count against the same limit as sign-ins from this address.
  const pair = `${await sha256Hex(user.email)}:${input.ip}`;
  await enforceRateLimit(ctx, "login_failures", pair);
  if (!(await verifyPassword(input.password, user.passwordHash)))
    throw new ApiError("invalid_credentials", "The password is wrong");
  await resetRateLimit(ctx, "login_failures", pair);
  await assertErasable(ctx, userId);

  const now = ctx.now().toISOString();
  const objects = await ctx.db
    .select({ key: driverDocuments.objectKey })
    .from(driverDocuments)
    .where(eq(driverDocuments.driverId, userId))
    .all();
  // The user's channel first, so every session is refused even if the batch then fails.
  await ctx.userChannel(userId).setStatus(userId, "blocked");
  await forgetIndexedDriver(ctx, userId);
  await ctx.db.batch([
    ctx.db
      .update(users)
      .set({
        name: "Deleted user",
        email: `erased+${userId.toLowerCase()}@erased.invalid`,
        phone: "",
        // Not a hash of anything: no password verifies against it.
        passwordHash: `erased$${randomToken(16)}`,
        cpfCiphertext: null,
        cpfHash: null,
        status: "blocked",
        erasedAt: now,
        updatedAt: now,
      })
      .where(eq(users.id, userId)),
    ctx.db.delete(refreshTokens).where(eq(refreshTokens.userId, userId)),
    ctx.db.delete(idempotencyKeys).where(eq(idempotencyKeys.userId, userId)),
    ctx.db.delete(quotes).where(eq(quotes.passengerId, userId)),
    ctx.db.delete(paymentMethods).where(eq(paymentMethods.userId, userId)),
    ctx.db.delete(devices).where(eq(devices.userId, userId)),
    ctx.db.delete(notifications).where(eq(notifications.userId, userId)),
    ctx.db.delete(driverDocuments).where(eq(driverDocuments.driverId, userId)),
    ctx.db
      .update(drivers)
      .set({
        status: "offline",
        vehiclePlate: null,
        vehicleModel: null,
        vehicleColor: null,
        vehicleCategory: null,
        lastLat: null,
        lastLng: null,
        lastCell: null,
        lastSeenAt: null,
        documentsExpireOn: null,
        updatedAt: now,
      })
      .where(eq(drivers.userId, userId)),
    ctx.db
      .update(ratings)
      .set({ comment: null })
      .where(or(eq(ratings.raterId, userId), eq(ratings.rateeId, userId))),
    ctx.db.update(payouts).set({ pixKey: "erased" }).where(eq(payouts.driverId, userId)),
    ctx.db
      .update(rides)
      .set({
        pickupLat: sql`round(${rides.pickupLat}, 2)`,
        pickupLng: sql`round(${rides.pickupLng}, 2)`,
        dropoffLat: sql`round(${rides.dropoffLat}, 2)`,
        dropoffLng: sql`round(${rides.dropoffLng}, 2)`,
        cancelReason: null,
      })
      .where(eq(rides.passengerId, userId)),
    ctx.db.update(rides).set({ cancelReason: null }).where(eq(rides.driverId, userId)),
    // The ride's history holds snapshots of it: the same coordinates, rounded the same way.
    ctx.db
      .update(rideEvents)
      .set({
        data: sql`json_set(data,
          '$.pickup.lat', round(json_extract(data, '$.pickup.lat'), 2), '$.pickup.lng', round(json_extract(data, '$.pickup.lng'), 2),
          '$.dropoff.lat', round(json_extract(data, '$.dropoff.lat'), 2), '$.dropoff.lng', round(json_extract(data, '$.dropoff.lng'), 2),
          '$.cancel_reason', NULL)`,
      })
      .where(
        sql`${rideEvents.rideId} IN (SELECT id FROM rides WHERE passenger_id = ${userId}) AND json_valid(data) AND json_type(data, '$.pickup') = 'object'`,
      ),
    // Efí's notifications about the user's payments and payouts carry payer data and Pix keys.
    ctx.db
      .update(webhookEvents)
      .set({ payload: '{"erased":true}' })
      .where(
        sql`${webhookEvents.endToEndId} IN (SELECT end_to_end_id FROM payments WHERE payer_id = ${userId} AND end_to_end_id IS NOT NULL)
         OR ${webhookEvents.endToEndId} IN (SELECT rail_reference FROM payouts WHERE driver_id = ${userId} AND rail_reference IS NOT NULL)`,
      ),
    auditStatement(ctx, {
      actorId: userId,
      action: "user.erase",
      targetType: "user",
      targetId: userId,
      before: { status: user.status, role: user.role },
      after: { status: "blocked", erased: true },
    }),
  ]);
  await Promise.all(objects.map((o) => ctx.env.DOCUMENTS.delete(o.key)));
  // Anything under the driver's prefix (an upload whose row never landed) goes too.
  const leftovers = await ctx.env.DOCUMENTS.list({ prefix: `drivers/${userId}/` });
  if (leftovers.objects.length > 0) await ctx.env.DOCUMENTS.delete(leftovers.objects.map((o) => o.key));
  await closeUserSockets(ctx, userId, { reason: "session_ended" });
  await forgetInRideRooms(ctx, userId);
  // The channel's catch-up history holds copies of the user's events (a cancel reason, places).
  await ctx.userChannel(userId).forget();
  ctx.log.info("user.erased", { user_id: userId });
}

/** Every ride room of the user drops what it holds of them (all those rides ended: see above). */
async function forgetInRideRooms(ctx: ServiceContext, userId: string): Promise<void> {
  const theirs = await ctx.db
    .select({ id: rides.id, passengerId: rides.passengerId })
    .from(rides)
    .where(or(eq(rides.passengerId, userId), eq(rides.driverId, userId)))
    .all();
  // A few rooms at a time: an account with years of rides must not open thousands of calls at once.
  for (let at = 0; at < theirs.length; at += 20) {
    await Promise.all(
      theirs
        .slice(at, at + 20)
        .map((ride) =>
          ctx.rideRoom(ride.id).forgetPerson(ride.passengerId === userId ? "passenger" : "driver"),
        ),
    );
  }
}
