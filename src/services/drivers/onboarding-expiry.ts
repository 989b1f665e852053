import { and, eq, gte, isNotNull, lt, lte, or, sql } from "drizzle-orm";
import { driverDocuments, drivers } from "../../db/schema";
import type { ServiceContext } from "../context";
import { forgetIndexedDriver } from "./index-sync";
import { decideOnboarding } from "./onboarding";
import {
  conditionalAudit,
  offlineUnlessOnRide,
  transitionStamp,
  transitionStatement,
} from "./onboarding-store";

const DOCUMENT_LABELS: Record<string, string> = {
  cnh: "driving licence (CNH)",
  crlv: "vehicle licence (CRLV)",
  criminal_record: "criminal record certificate",
};

/** Notices before a document expires, in days; each is sent once per document. */
export const EXPIRY_NOTICE_DAYS = [30, 7, 1] as const;

const PAGE = 100;

/** Whole days from `from` to `to`, both YYYY-MM-DD. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The notice due for a document expiring in `daysLeft` days: the smallest threshold reached. */
export function noticeFor(daysLeft: number): number | null {
  if (daysLeft < 0) return null;
  return [...EXPIRY_NOTICE_DAYS].sort((a, b) => a - b).find((d) => daysLeft <= d) ?? null;
}

/**
 * Suspends every approved driver whose approved set expired before `today` (a document is valid
 * through its expiry date), one guarded transition and audit row each; a driver on a ride keeps
 * driving until it ends (offlineUnlessOnRide). Safe to run twice: a suspended driver no longer
 * matches.
 */
export async function suspendExpiredDrivers(ctx: ServiceContext, today: string): Promise<number> {
  let suspended = 0;
  for (;;) {
    const due = await ctx.db
      .select({
        userId: drivers.userId,
        status: drivers.onboardingStatus,
        reason: drivers.onboardingReason,
        expireOn: drivers.documentsExpireOn,
      })
      .from(drivers)
      .where(
        and(
          eq(drivers.onboardingStatus, "approved"),
          or(lt(drivers.documentsExpireOn, today), sql`${drivers.documentsExpireOn} IS NULL`),
        ),
      )
      .limit(PAGE)
      .all();
    if (due.length === 0) return suspended;
    const now = ctx.now();
    const statements = due.flatMap((row) => {
      const state = { status: row.status, reason: row.reason, suspendedBy: null };
      const reason = `documents_expired: the documents were valid through ${row.expireOn ?? "an unknown date"}`;
      const decision = decideOnboarding(state, { type: "suspend", reason, by: "documents_expired" });
      if (!decision.ok) return [];
      const stamp = transitionStamp(now);
      return [
        transitionStatement(ctx, row.userId, state, decision.next, stamp, {
          status: offlineUnlessOnRide(row.userId),
          updatedAt: now.toISOString(),
        }),
        conditionalAudit(
          ctx,
          {
            actorId: null,
            action: "driver.suspend",
            driverId: row.userId,
            before: { onboarding_status: row.status, documents_expire_on: row.expireOn },
            after: {
              onboarding_status: "suspended",
              suspended_by: "documents_expired",
              onboarding_reason: reason,
            },
          },
          stamp,
        ),
      ];
    });
    const [first, ...rest] = statements;
    if (!first) return suspended;
    await ctx.db.batch([first, ...rest]);
    for (const row of due) await forgetIndexedDriver(ctx, row.userId);
    suspended += due.length;
    ctx.log.info("drivers.suspended_for_expiry", { count: due.length, today });
    if (due.length < PAGE) return suspended;
  }
}

/**
 * Tells approved drivers that a document of theirs expires in 30, 7 or 1 days, as the event
 * `documents.expiring` on their channel (and, through the notification rules, the inbox and push). Each
 * notice is claimed by a guarded update before it is published, so a second run sends nothing
 * twice; a run that missed a day sends the notice of the threshold now reached.
 */
export async function sendExpiryNotices(ctx: ServiceContext, today: string): Promise<number> {
  const horizon = new Date(Date.parse(`${today}T00:00:00Z`) + EXPIRY_NOTICE_DAYS[0] * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const candidates = await ctx.db
    .select({
      id: driverDocuments.id,
      driverId: driverDocuments.driverId,
      kind: driverDocuments.kind,
      expiresOn: driverDocuments.expiresOn,
      noticeDays: driverDocuments.expiryNoticeDays,
    })
    .from(driverDocuments)
    .innerJoin(drivers, eq(drivers.userId, driverDocuments.driverId))
    .where(
      and(
        eq(drivers.onboardingStatus, "approved"),
        eq(driverDocuments.reviewStatus, "approved"),
        isNotNull(driverDocuments.expiresOn),
        gte(driverDocuments.expiresOn, today),
        lte(driverDocuments.expiresOn, horizon),
        // Only the newest approved document of its kind speaks for the driver.
        sql`NOT EXISTS (SELECT 1 FROM driver_documents n WHERE n.driver_id = ${driverDocuments.driverId} AND n.kind = ${driverDocuments.kind} AND n.review_status = 'approved' AND n.id > ${driverDocuments.id})`,
      ),
    )
    .all();
  let sent = 0;
  for (const doc of candidates) {
    if (!doc.expiresOn) continue;
    const daysLeft = daysBetween(today, doc.expiresOn);
    const notice = noticeFor(daysLeft);
    if (notice === null || (doc.noticeDays !== null && doc.noticeDays <= notice)) continue;
    const claimed = await ctx.db
      .update(driverDocuments)
      .set({ expiryNoticeDays: notice })
      .where(
        and(
          eq(driverDocuments.id, doc.id),
          or(
            sql`${driverDocuments.expiryNoticeDays} IS NULL`,
            sql`${driverDocuments.expiryNoticeDays} > ${notice}`,
          ),
        ),
      )
      .returning({ id: driverDocuments.id })
      .get();
    if (!claimed) continue;
    const when = daysLeft === 0 ? "today" : daysLeft === 1 ? "tomorrow" : `in ${daysLeft} days`;
    await ctx.publish(
      {
        type: "documents.expiring",
        data: {
          document_id: doc.id,
          kind: doc.kind,
          expires_on: doc.expiresOn,
          days_left: daysLeft,
          message: `Your ${DOCUMENT_LABELS[doc.kind]} expires ${when} (${doc.expiresOn}). Upload the new one to keep driving.`,
        },
      },
      { users: [doc.driverId] },
    );
    sent += 1;
  }
  return sent;
}
