import { and, asc, eq, inArray, or } from "drizzle-orm";
import {
  auditLogs,
  consents,
  devices,
  driverDocuments,
  driverStatusLog,
  drivers,
  ledgerAccounts,
  ledgerEntries,
  notifications,
  paymentMethods,
  payments,
  payouts,
  ratings,
  rides,
  settlements,
  users,
} from "../../db/schema";
import { ApiError } from "../../lib/problem";
import { toPublicUser } from "../auth/accounts";
import type { ServiceContext } from "../context";
import { toDocumentView } from "../drivers/documents";
import { enforceRateLimit } from "../requests/rate-limit";

type Row = Record<string, unknown>;

/** Column names as the API spells them (snake_case), so the export reads like the API. */
function snake(row: Row): Row {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

/**
 * Everything we hold about the caller, as one JSON document (LGPD art. 18): profile, consents,
 * rides (as passenger or driver), ratings, payments, cards (brand and last digits), the wallet's
 * balances and statement, settlements and payouts, devices, notifications, the driver's profile
 * and documents' metadata, and the audit entries about them. Secrets are left out (password hash,
 * tokens); the CPF is reported as on file or not, never returned (it is never returned anywhere).
 * Rate-limited: five a day.
 */
export async function exportUserData(ctx: ServiceContext, userId: string) {
  await enforceRateLimit(ctx, "data_export_user", userId);
  const user = await ctx.db.select().from(users).where(eq(users.id, userId)).get();
  if (!user) throw new ApiError("not_found", "No such user");
  const accounts = await ctx.db
    .select()
    .from(ledgerAccounts)
    .where(and(eq(ledgerAccounts.ownerType, "driver"), eq(ledgerAccounts.ownerId, userId)))
    .all();
  const accountIds = accounts.map((a) => a.id);
  const [
    consentRows,
    rideRows,
    ratingRows,
    paymentRows,
    cardRows,
    entryRows,
    settlementRows,
    payoutRows,
    deviceRows,
    notificationRows,
    driverRow,
    documentRows,
    statusRows,
    auditRows,
  ] = await ctx.db.batch([
    ctx.db.select().from(consents).where(eq(consents.userId, userId)).orderBy(asc(consents.id)),
    ctx.db
      .select()
      .from(rides)
      .where(or(eq(rides.passengerId, userId), eq(rides.driverId, userId)))
      .orderBy(asc(rides.id)),
    ctx.db
      .select()
      .from(ratings)
      .where(or(eq(ratings.raterId, userId), eq(ratings.rateeId, userId))),
    ctx.db.select().from(payments).where(eq(payments.payerId, userId)).orderBy(asc(payments.id)),
    ctx.db
      .select({
        id: paymentMethods.id,
        kind: paymentMethods.kind,
        brand: paymentMethods.brand,
        last4: paymentMethods.last4,
        createdAt: paymentMethods.createdAt,
      })
      .from(paymentMethods)
      .where(eq(paymentMethods.userId, userId)),
    ctx.db
      .select()
      .from(ledgerEntries)
      .where(inArray(ledgerEntries.accountId, accountIds.length > 0 ? accountIds : [""]))
      .orderBy(asc(ledgerEntries.id)),
    ctx.db.select().from(settlements).where(eq(settlements.driverId, userId)).orderBy(asc(settlements.id)),
    ctx.db.select().from(payouts).where(eq(payouts.driverId, userId)).orderBy(asc(payouts.id)),
    ctx.db
      .select({
        id: devices.id,
        platform: devices.platform,
        createdAt: devices.createdAt,
        lastSeenAt: devices.lastSeenAt,
      })
      .from(devices)
      .where(eq(devices.userId, userId)),
    ctx.db
      .select()
      .from(notifications)
      .where(eq(notifications.userId, userId))
      .orderBy(asc(notifications.id)),
    ctx.db.select().from(drivers).where(eq(drivers.userId, userId)),
    ctx.db
      .select()
      .from(driverDocuments)
      .where(eq(driverDocuments.driverId, userId))
      .orderBy(asc(driverDocuments.id)),
    ctx.db
      .select()
      .from(driverStatusLog)
      .where(eq(driverStatusLog.driverId, userId))
      .orderBy(asc(driverStatusLog.id)),
    ctx.db
      .select()
      .from(auditLogs)
      .where(or(eq(auditLogs.targetId, userId), eq(auditLogs.actorId, userId)))
      .orderBy(asc(auditLogs.id)),
  ]);
  return {
    exported_at: ctx.now().toISOString(),
    profile: { ...toPublicUser(user), cpf_on_file: user.cpfCiphertext !== null },
    consents: consentRows.map((r) => ({
      document: r.document,
      version: r.version,
      accepted_at: r.acceptedAt,
    })),
    rides: rideRows.map(snake),
    ratings: ratingRows.map(snake),
    payments: paymentRows.map(({ qrCodePng: _png, ...r }) => snake(r)),
    payment_methods: cardRows.map(snake),
    wallet: {
      accounts: accounts.map((a) => ({ id: a.id, kind: a.kind, balance_cents: a.balance })),
      entries: entryRows.map(snake),
    },
    settlements: settlementRows.map(snake),
    payouts: payoutRows.map(snake),
    devices: deviceRows.map(snake),
    notifications: notificationRows.map(snake),
    driver: driverRow[0] ? snake(driverRow[0]) : null,
    documents: documentRows.map(toDocumentView),
    status_history: statusRows.map(snake),
    audit_entries: auditRows.map(snake),
  };
}
