import type { OnboardingStatus } from "../../db/schema";

export type SuspendedBy = "documents_expired" | "staff";

export interface OnboardingState {
  status: OnboardingStatus;
  reason: string | null;
  suspendedBy: SuspendedBy | null;
}

/**
 * What can happen to a driver's onboarding:
 * - `documents_submitted`: an upload left a complete set (every kind has a file not rejected);
 * - `approve`, `reject` (with reason), `suspend` (with reason; by staff or by expired documents);
 * - `vehicle_changed`: the driver registered a vehicle with another plate, whose CRLV nobody has
 *   uploaded or reviewed yet.
 * Whether the set is complete and acceptable is checked by the caller before it asks.
 */
export type OnboardingEvent =
  | { type: "documents_submitted" }
  | { type: "approve" }
  | { type: "reject"; reason: string }
  | { type: "suspend"; reason: string; by: SuspendedBy }
  | { type: "vehicle_changed" };

export type OnboardingDecision = { ok: true; next: OnboardingState } | { ok: false; detail: string };

const refuse = (detail: string): OnboardingDecision => ({ ok: false, detail });
const to = (status: OnboardingStatus, reason: string | null = null, suspendedBy: SuspendedBy | null = null) =>
  ({ ok: true, next: { status, reason, suspendedBy } }) as const;
const stay = (state: OnboardingState): OnboardingDecision => ({ ok: true, next: state });

/**
 * The one place that decides onboarding transitions (pure; every transition is unit-tested):
 *
 *   pending_documents ─submitted→ under_review ─approve→ approved ─suspend→ suspended
 *                                  │  ↑                    ↑                  │
 *                          reject ↓  └─submitted─ rejected  └──── approve ─────┘
 *
 * - A complete upload moves a new, rejected or expiry-suspended driver to review. An approved
 *   driver who uploads a renewal stays approved (his approved set still counts until it expires);
 *   a staff suspension is lifted only by staff (`approve`), never by an upload.
 * - `approve` from `approved` approves pending renewals; from `suspended` it reinstates.
 * - Staff may suspend a driver under review or approved; expiry suspends only approved drivers.
 * - A new vehicle sends an approved driver, or one under review, back to `pending_documents`: the
 *   set now lacks the new vehicle's CRLV, and its upload brings him back to review. Rejected,
 *   pending and suspended drivers stay where they are (approval checks the CRLV's plate anyway).
 */
export function decideOnboarding(state: OnboardingState, event: OnboardingEvent): OnboardingDecision {
  switch (event.type) {
    case "documents_submitted":
      switch (state.status) {
        case "pending_documents":
        case "rejected":
          return to("under_review");
        case "suspended":
          return state.suspendedBy === "documents_expired" ? to("under_review") : stay(state);
        case "under_review":
        case "approved":
          return stay(state);
      }
      break;
    case "approve":
      if (state.status === "under_review" || state.status === "approved" || state.status === "suspended") {
        return to("approved");
      }
      return refuse(`A driver in ${state.status} has no complete set of documents to approve`);
    case "reject":
      if (state.status === "under_review") return to("rejected", event.reason);
      return refuse(`Only a driver under review can be rejected; this one is ${state.status}`);
    case "suspend":
      if (state.status === "approved") return to("suspended", event.reason, event.by);
      if (event.by === "staff" && (state.status === "under_review" || state.status === "suspended")) {
        return to("suspended", event.reason, "staff");
      }
      return refuse(`A driver in ${state.status} cannot be suspended`);
    case "vehicle_changed":
      if (state.status === "approved" || state.status === "under_review") {
        return to("pending_documents", VEHICLE_CHANGED_REASON);
      }
      return stay(state);
  }
  return refuse("Unknown onboarding event");
}

/** Shown to the driver (`onboarding_reason`) after he changed the vehicle. */
export const VEHICLE_CHANGED_REASON = "vehicle changed: upload the new vehicle's CRLV for review";

/** The state of a driver without a `drivers` row yet: nothing uploaded. */
export const INITIAL_ONBOARDING: OnboardingState = {
  status: "pending_documents",
  reason: null,
  suspendedBy: null,
};
