import { and, desc, eq, inArray, lt } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { driverDocuments, drivers, type OnboardingStatus, users } from "../../db/schema";
import { businessDateOf } from "../../lib/business-days";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import type { AuthUser, ServiceContext } from "../context";
import { documentRowsOf, earliestExpiry, latestByKind, setProblems, toDocumentView } from "./documents";
import { forgetIndexedDriver } from "./index-sync";
import { decideOnboarding, type OnboardingEvent, type OnboardingState } from "./onboarding";
import {
  appliedNow,
  conditionalAudit,
  offlineUnlessOnRide,
  readOnboarding,
  stampTime,
  transitionStamp,
  transitionStatement,
} from "./onboarding-store";

export interface DriverSummary {
  user_id: string;
  name: string;
  onboarding_status: OnboardingStatus;
  onboarding_reason: string | null;
  suspended_by: "documents_expired" | "staff" | null;
  documents_expire_on: string | null;
  status: "offline" | "online";
  onboarding_changed_at: string | null;
}

const summaryColumns = {
  user_id: drivers.userId,
  name: users.name,
  onboarding_status: drivers.onboardingStatus,
  onboarding_reason: drivers.onboardingReason,
  suspended_by: drivers.suspendedBy,
  documents_expire_on: drivers.documentsExpireOn,
  status: drivers.status,
  onboarding_changed_at: drivers.onboardingChangedAt,
};

const summaryOf = (row: DriverSummary): DriverSummary => ({
  ...row,
  onboarding_changed_at: stampTime(row.onboarding_changed_at),
});

/** Drivers in an onboarding status, newest account first, cursor-paginated by user id. */
export async function listDrivers(
  ctx: ServiceContext,
  status: OnboardingStatus | undefined,
  page: PageQuery,
) {
  const rows = await ctx.db
    .select(summaryColumns)
    .from(drivers)
    .innerJoin(users, eq(users.id, drivers.userId))
    .where(
      and(
        status ? eq(drivers.onboardingStatus, status) : undefined,
        page.cursor ? lt(drivers.userId, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(drivers.userId))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(
    rows.map((row) => ({ ...summaryOf(row), id: row.user_id })),
    page.limit,
  );
  return { items: items.map(({ id: _id, ...item }) => item), next_cursor };
}

/** One driver with every document he uploaded (newest first) and what stands in the way. */
export async function getDriverForReview(ctx: ServiceContext, driverId: string) {
  const found = await ctx.db
    .select({ ...summaryColumns, vehiclePlate: drivers.vehiclePlate })
    .from(drivers)
    .innerJoin(users, eq(users.id, drivers.userId))
    .where(eq(drivers.userId, driverId))
    .get();
  if (!found) throw new ApiError("not_found", "No such driver");
  const { vehiclePlate, ...row } = found;
  const documents = await documentRowsOf(ctx, driverId);
  return {
    ...summaryOf(row),
    problems: setProblems(latestByKind(documents), businessDateOf(ctx.now()), vehiclePlate),
    documents: documents.map(toDocumentView),
  };
}

/** The file of a document, for staff (drivers:review); the row names its R2 key, never a request. */
export async function readDocumentFile(ctx: ServiceContext, documentId: string) {
  const row = await ctx.db.select().from(driverDocuments).where(eq(driverDocuments.id, documentId)).get();
  const object = row ? await ctx.env.DOCUMENTS.get(row.objectKey) : null;
  if (!row || !object) throw new ApiError("not_found", "No such document");
  return { row, body: object.body };
}

type ReviewAction = "approve" | "reject" | "suspend";

/**
 * Applies a staff decision in one D1 batch: the guarded onboarding update, the documents it
 * concerns, the driver offline (suspension, unless on a ride: see below) and the audit row with
 * before and after. A decision that lost a race to another changes nothing and is answered 409.
 */
export async function reviewDriver(
  ctx: ServiceContext,
  actor: AuthUser,
  driverId: string,
  action: ReviewAction,
  reason?: string,
) {
  const state = await readOnboarding(ctx, driverId);
  if (!state.exists) throw new ApiError("not_found", "No such driver");
  const event: OnboardingEvent =
    action === "approve"
      ? { type: "approve" }
      : action === "reject"
        ? { type: "reject", reason: reason ?? "" }
        : { type: "suspend", reason: reason ?? "", by: "staff" };
  const decision = decideOnboarding(state, event);
  if (!decision.ok) throw new ApiError("onboarding_transition_invalid", decision.detail);
  const next = decision.next;
  const now = ctx.now();
  const at = now.toISOString();
  const stamp = transitionStamp(now);
  const latest = latestByKind(await documentRowsOf(ctx, driverId));
  const latestIds = [...latest.values()].filter((d) => d.reviewStatus === "pending").map((d) => d.id);

  const extra: SQLiteUpdateSetSource<typeof drivers> = { updatedAt: at };
  let expireOn: string | null = null;
  if (action === "approve") {
    const problems = setProblems(latest, businessDateOf(now), state.vehiclePlate);
    if (problems.length > 0) throw new ApiError("driver_documents_incomplete", problems.join("; "));
    expireOn = earliestExpiry(latest);
    extra.documentsExpireOn = expireOn;
  }
  if (action === "suspend") {
    // Never mid-ride: a driver on a ride stays online until it ends; then a trigger on `rides`
    // takes an unapproved driver offline (migration suspension_after_ride).
    extra.status = offlineUnlessOnRide(driverId);
  }
  const docStatus = action === "approve" ? "approved" : action === "reject" ? "rejected" : null;
  const [moved] = await ctx.db.batch([
    transitionStatement(ctx, driverId, state, next, stamp, extra),
    ...(docStatus && latestIds.length > 0
      ? [
          ctx.db
            .update(driverDocuments)
            .set({ reviewStatus: docStatus, reviewedBy: actor.id, reviewedAt: at })
            .where(and(inArray(driverDocuments.id, latestIds), appliedNow(driverId, stamp))),
        ]
      : []),
    conditionalAudit(
      ctx,
      {
        actorId: actor.id,
        action: `driver.${action}`,
        driverId,
        before: auditView(state),
        after: {
          ...auditView(next),
          documents: latestIds,
          ...(expireOn ? { documents_expire_on: expireOn } : {}),
        },
      },
      stamp,
    ),
  ]);
  if (moved.length === 0) {
    throw new ApiError("onboarding_transition_invalid", "The driver's onboarding changed meanwhile; reload");
  }
  // A suspended driver leaves the driver index at once, so his next ping asks D1 (which keeps him
  // online only until a ride in progress ends).
  if (action === "suspend") await forgetIndexedDriver(ctx, driverId);
  ctx.log.info("driver.onboarding_reviewed", { driver_id: driverId, action, status: next.status });
  return getDriverForReview(ctx, driverId);
}

const auditView = (s: OnboardingState) => ({
  onboarding_status: s.status,
  onboarding_reason: s.reason,
  suspended_by: s.suspendedBy,
});
