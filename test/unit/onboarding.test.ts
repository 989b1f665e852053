import { describe, expect, it } from "vitest";
import type { OnboardingStatus } from "../../src/db/schema";
import {
  decideOnboarding,
  type OnboardingEvent,
  type OnboardingState,
  type SuspendedBy,
  VEHICLE_CHANGED_REASON,
} from "../../src/services/drivers/onboarding";
import { daysBetween, noticeFor } from "../../src/services/drivers/onboarding-expiry";

const state = (status: OnboardingStatus, suspendedBy: SuspendedBy | null = null): OnboardingState => ({
  status,
  reason: suspendedBy ? "why" : null,
  suspendedBy,
});

const SUBMIT: OnboardingEvent = { type: "documents_submitted" };
const APPROVE: OnboardingEvent = { type: "approve" };
const REJECT: OnboardingEvent = { type: "reject", reason: "blurred CNH" };
const STAFF: OnboardingEvent = { type: "suspend", reason: "complaints", by: "staff" };
const EXPIRY: OnboardingEvent = { type: "suspend", reason: "documents_expired", by: "documents_expired" };
const VEHICLE: OnboardingEvent = { type: "vehicle_changed" };

// Every (state, event) pair: the next status, or null when refused.
const TABLE: [OnboardingState, OnboardingEvent, OnboardingStatus | null][] = [
  [state("pending_documents"), SUBMIT, "under_review"],
  [state("pending_documents"), APPROVE, null],
  [state("pending_documents"), REJECT, null],
  [state("pending_documents"), STAFF, null],
  [state("pending_documents"), EXPIRY, null],
  [state("under_review"), SUBMIT, "under_review"],
  [state("under_review"), APPROVE, "approved"],
  [state("under_review"), REJECT, "rejected"],
  [state("under_review"), STAFF, "suspended"],
  [state("under_review"), EXPIRY, null],
  [state("approved"), SUBMIT, "approved"],
  [state("approved"), APPROVE, "approved"],
  [state("approved"), REJECT, null],
  [state("approved"), STAFF, "suspended"],
  [state("approved"), EXPIRY, "suspended"],
  [state("rejected"), SUBMIT, "under_review"],
  [state("rejected"), APPROVE, null],
  [state("rejected"), REJECT, null],
  [state("rejected"), STAFF, null],
  [state("rejected"), EXPIRY, null],
  [state("suspended", "documents_expired"), SUBMIT, "under_review"],
  [state("suspended", "staff"), SUBMIT, "suspended"],
  [state("suspended", "staff"), APPROVE, "approved"],
  [state("suspended", "documents_expired"), APPROVE, "approved"],
  [state("suspended", "staff"), REJECT, null],
  [state("suspended", "documents_expired"), STAFF, "suspended"],
  [state("suspended", "staff"), EXPIRY, null],
  [state("pending_documents"), VEHICLE, "pending_documents"],
  [state("under_review"), VEHICLE, "pending_documents"],
  [state("approved"), VEHICLE, "pending_documents"],
  [state("rejected"), VEHICLE, "rejected"],
  [state("suspended", "staff"), VEHICLE, "suspended"],
  [state("suspended", "documents_expired"), VEHICLE, "suspended"],
];

describe("decideOnboarding", () => {
  it.each(TABLE)("%j + %j → %s", (from, event, expected) => {
    const decision = decideOnboarding(from, event);
    if (expected === null) {
      expect(decision.ok).toBe(false);
    } else {
      expect(decision).toMatchObject({ ok: true, next: { status: expected } });
    }
  });

  it("keeps the reason of a rejection and who suspended", () => {
    expect(decideOnboarding(state("under_review"), REJECT)).toEqual({
      ok: true,
      next: { status: "rejected", reason: "blurred CNH", suspendedBy: null },
    });
    expect(decideOnboarding(state("approved"), EXPIRY)).toEqual({
      ok: true,
      next: { status: "suspended", reason: "documents_expired", suspendedBy: "documents_expired" },
    });
    // Staff take over an expiry suspension: an upload no longer lifts it.
    const taken = decideOnboarding(state("suspended", "documents_expired"), STAFF);
    expect(taken).toMatchObject({ ok: true, next: { suspendedBy: "staff" } });
  });

  it("tells a driver who changed the vehicle why he is back to documents; a suspension keeps its reason", () => {
    expect(decideOnboarding(state("approved"), VEHICLE)).toEqual({
      ok: true,
      next: { status: "pending_documents", reason: VEHICLE_CHANGED_REASON, suspendedBy: null },
    });
    expect(decideOnboarding(state("suspended", "staff"), VEHICLE)).toEqual({
      ok: true,
      next: state("suspended", "staff"),
    });
  });

  it("clears the reason on approval", () => {
    expect(decideOnboarding(state("suspended", "staff"), APPROVE)).toEqual({
      ok: true,
      next: { status: "approved", reason: null, suspendedBy: null },
    });
  });
});

describe("expiry notices", () => {
  it.each([
    [31, null],
    [30, 30],
    [8, 30],
    [7, 7],
    [2, 7],
    [1, 1],
    [0, 1],
    [-1, null],
  ])("%i days left → notice %s", (days, notice) => {
    expect(noticeFor(days)).toBe(notice);
  });

  it("counts whole days across months and a DST-free zone", () => {
    expect(daysBetween("2026-01-31", "2026-03-02")).toBe(30);
    expect(daysBetween("2026-03-02", "2026-03-01")).toBe(-1);
  });
});
