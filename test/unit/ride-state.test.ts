import { describe, expect, it } from "vitest";
import type { RideStatus } from "../../src/db/schema";
import {
  cancellationFee,
  decide,
  isTerminal,
  type RideAction,
  type RideEventType,
  type RideRow,
} from "../../src/services/rides/state";

const NOW = new Date("2026-11-20T12:00:00.000Z");
const AT = NOW.toISOString();
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const PASSENGER = "usr_PASSENGER";
const DRIVER = "usr_DRIVER";
const OTHER_PASSENGER = "usr_OTHER_PASSENGER";
const OTHER_DRIVER = "usr_OTHER_DRIVER";
const FEE_CENTS = 500;
const GRACE_SECONDS = 120;
const REQUEST_TTL_SECONDS = 300;

/** A requested ride, then the fields each later status adds (the driver accepted 60 s ago). */
function rideIn(status: RideStatus): RideRow {
  const requested: RideRow = {
    id: "ride_TEST",
    status: "requested",
    passengerId: PASSENGER,
    driverId: null,
    cityId: "sao_paulo",
    category: "pop",
    paymentMethod: "pix",
    pickupLat: -23.5503,
    pickupLng: -46.6339,
    pickupCell: "6gyf4b",
    dropoffLat: -23.5614,
    dropoffLng: -46.6559,
    quoteId: null,
    pricingRuleId: "prc_sp_pop_2026",
    estimatedFareCents: 1350,
    estimatedDistanceM: 2500,
    estimatedDurationS: 500,
    finalFareCents: null,
    distanceM: null,
    durationS: null,
    driverReportedDistanceM: null,
    driverReportedDurationS: null,
    fareReview: null,
    endedEarlyAt: null,
    cancellationFeeCents: null,
    cancelledBy: null,
    cancelReason: null,
    lastSeq: 1,
    expiresAt: ago(-200),
    createdAt: ago(100),
    acceptedAt: null,
    arrivedAt: null,
    startedAt: null,
    completedAt: null,
    cancelledAt: null,
    expiredAt: null,
    expiredReason: null,
    updatedAt: ago(100),
    surgeMultiplierBp: null,
  };
  const accepted = {
    ...requested,
    status: "accepted" as const,
    driverId: DRIVER,
    acceptedAt: ago(60),
    lastSeq: 2,
  };
  const arrived = { ...accepted, status: "arrived" as const, arrivedAt: ago(30), lastSeq: 3 };
  const inProgress = { ...arrived, status: "in_progress" as const, startedAt: ago(20), lastSeq: 4 };
  switch (status) {
    case "requested":
      return requested;
    case "accepted":
      return accepted;
    case "arrived":
      return arrived;
    case "in_progress":
      return inProgress;
    case "completed":
      return {
        ...inProgress,
        status,
        completedAt: ago(10),
        distanceM: 3000,
        durationS: 600,
        finalFareCents: 1350,
        lastSeq: 5,
      };
    case "cancelled":
      return {
        ...accepted,
        status,
        cancelledAt: ago(10),
        cancelledBy: "driver",
        cancelReason: "car broke down",
        cancellationFeeCents: 0,
        lastSeq: 3,
      };
    case "expired":
      return { ...requested, status, expiredAt: ago(10), lastSeq: 2 };
  }
}

const cancelBy = (id: string, role: "passenger" | "driver" | "system"): RideAction => ({
  kind: "cancel",
  actor: { id, role },
  reason: "changed plans",
  feeCents: FEE_CENTS,
  graceSeconds: GRACE_SECONDS,
  requestTtlSeconds: REQUEST_TTL_SECONDS,
});

const ACTIONS = {
  "accept by the driver": { kind: "accept", driverId: DRIVER },
  "accept by another driver": { kind: "accept", driverId: OTHER_DRIVER },
  "arrive by the driver": { kind: "arrive", driverId: DRIVER },
  "arrive by another driver": { kind: "arrive", driverId: OTHER_DRIVER },
  "start by the driver": { kind: "start", driverId: DRIVER },
  "start by another driver": { kind: "start", driverId: OTHER_DRIVER },
  "complete by the driver": {
    kind: "complete",
    driverId: DRIVER,
    distanceM: 4200,
    durationS: 840,
    finalFareCents: 1650,
  },
  "complete by another driver": {
    kind: "complete",
    driverId: OTHER_DRIVER,
    distanceM: 4200,
    durationS: 840,
    finalFareCents: 1650,
  },
  "cancel by the passenger": cancelBy(PASSENGER, "passenger"),
  "cancel by the driver": cancelBy(DRIVER, "driver"),
  "cancel by another passenger": cancelBy(OTHER_PASSENGER, "passenger"),
  "cancel by another driver": cancelBy(OTHER_DRIVER, "driver"),
  "cancel by the system": cancelBy("system", "system"),
  expire: { kind: "expire" },
} satisfies Record<string, RideAction>;

type ActionName = keyof typeof ACTIONS;
/** An allowed transition names the status it leads to; a refused one, its problem code. */
type Outcome =
  | { to: "requested" | "accepted" | "arrived" | "in_progress" | "completed" | "cancelled" | "expired" }
  | "forbidden"
  | "invalid_transition"
  | "ride_already_accepted"
  | "ride_not_requested";

const to = (status: Exclude<Outcome, string>["to"]) => ({ to: status });

// Read a column: what each action does to a ride in that status. In `requested` and `expired`
// no driver is assigned, so every driver-only step is `forbidden` there.
const TABLE: Record<RideStatus, Record<ActionName, Outcome>> = {
  requested: {
    "accept by the driver": to("accepted"),
    "accept by another driver": to("accepted"),
    "arrive by the driver": "forbidden",
    "arrive by another driver": "forbidden",
    "start by the driver": "forbidden",
    "start by another driver": "forbidden",
    "complete by the driver": "forbidden",
    "complete by another driver": "forbidden",
    "cancel by the passenger": to("cancelled"),
    "cancel by the driver": "forbidden",
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": to("cancelled"),
    expire: to("expired"),
  },
  accepted: {
    "accept by the driver": "invalid_transition",
    "accept by another driver": "ride_already_accepted",
    "arrive by the driver": to("arrived"),
    "arrive by another driver": "forbidden",
    "start by the driver": "invalid_transition",
    "start by another driver": "forbidden",
    "complete by the driver": "invalid_transition",
    "complete by another driver": "forbidden",
    "cancel by the passenger": to("cancelled"),
    "cancel by the driver": to("requested"),
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": to("cancelled"),
    expire: "ride_not_requested",
  },
  arrived: {
    "accept by the driver": "invalid_transition",
    "accept by another driver": "ride_already_accepted",
    "arrive by the driver": "invalid_transition",
    "arrive by another driver": "forbidden",
    "start by the driver": to("in_progress"),
    "start by another driver": "forbidden",
    "complete by the driver": "invalid_transition",
    "complete by another driver": "forbidden",
    "cancel by the passenger": to("cancelled"),
    "cancel by the driver": to("requested"),
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": to("cancelled"),
    expire: "ride_not_requested",
  },
  in_progress: {
    "accept by the driver": "invalid_transition",
    "accept by another driver": "ride_already_accepted",
    "arrive by the driver": "invalid_transition",
    "arrive by another driver": "forbidden",
    "start by the driver": "invalid_transition",
    "start by another driver": "forbidden",
    "complete by the driver": to("completed"),
    "complete by another driver": "forbidden",
    "cancel by the passenger": "invalid_transition",
    "cancel by the driver": "invalid_transition",
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": "invalid_transition",
    expire: "ride_not_requested",
  },
  completed: {
    "accept by the driver": "ride_not_requested",
    "accept by another driver": "ride_not_requested",
    "arrive by the driver": "invalid_transition",
    "arrive by another driver": "forbidden",
    "start by the driver": "invalid_transition",
    "start by another driver": "forbidden",
    "complete by the driver": "invalid_transition",
    "complete by another driver": "forbidden",
    "cancel by the passenger": "invalid_transition",
    "cancel by the driver": "invalid_transition",
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": "invalid_transition",
    expire: "ride_not_requested",
  },
  cancelled: {
    "accept by the driver": "ride_not_requested",
    "accept by another driver": "ride_not_requested",
    "arrive by the driver": "invalid_transition",
    "arrive by another driver": "forbidden",
    "start by the driver": "invalid_transition",
    "start by another driver": "forbidden",
    "complete by the driver": "invalid_transition",
    "complete by another driver": "forbidden",
    "cancel by the passenger": "invalid_transition",
    "cancel by the driver": "invalid_transition",
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": "invalid_transition",
    expire: "ride_not_requested",
  },
  expired: {
    "accept by the driver": "ride_not_requested",
    "accept by another driver": "ride_not_requested",
    "arrive by the driver": "forbidden",
    "arrive by another driver": "forbidden",
    "start by the driver": "forbidden",
    "start by another driver": "forbidden",
    "complete by the driver": "forbidden",
    "complete by another driver": "forbidden",
    "cancel by the passenger": "invalid_transition",
    "cancel by the driver": "forbidden",
    "cancel by another passenger": "forbidden",
    "cancel by another driver": "forbidden",
    "cancel by the system": "invalid_transition",
    expire: "ride_not_requested",
  },
};

const EVENT_OF: Record<Exclude<Outcome, string>["to"], RideEventType> = {
  requested: "ride.reassigning",
  accepted: "ride.accepted",
  arrived: "ride.arrived",
  in_progress: "ride.started",
  completed: "ride.completed",
  cancelled: "ride.cancelled",
  expired: "ride.expired",
};

/** Exactly the fields an allowed transition changes; everything else must stay as it was. */
function expectedChanges(row: RideRow, action: RideAction): Partial<RideRow> {
  const common = { lastSeq: row.lastSeq + 1, updatedAt: AT };
  switch (action.kind) {
    case "accept":
      return { ...common, status: "accepted", driverId: action.driverId, acceptedAt: AT };
    case "arrive":
      return { ...common, status: "arrived", arrivedAt: AT };
    case "start":
      return { ...common, status: "in_progress", startedAt: AT };
    case "complete":
      return {
        ...common,
        status: "completed",
        completedAt: AT,
        distanceM: action.distanceM,
        durationS: action.durationS,
        finalFareCents: action.finalFareCents,
      };
    case "cancel":
      // The assigned driver gives the ride back: requested again, with a renewed deadline.
      if (action.actor.role === "driver") {
        return {
          ...common,
          status: "requested",
          driverId: null,
          acceptedAt: null,
          arrivedAt: null,
          expiresAt: new Date(NOW.getTime() + REQUEST_TTL_SECONDS * 1000).toISOString(),
        };
      }
      // Every other allowed cancel in the table is within the grace period or by the system.
      return {
        ...common,
        status: "cancelled",
        cancelledAt: AT,
        cancelledBy: action.actor.role,
        cancelReason: action.reason,
        cancellationFeeCents: 0,
      };
    case "expire":
      return { ...common, status: "expired", expiredAt: AT, expiredReason: "request_timeout" };
  }
}

function expectedActor(action: RideAction): string | null {
  if (action.kind === "expire") return null;
  if (action.kind === "cancel") return action.actor.role === "system" ? null : action.actor.id;
  return action.driverId;
}

const CASES = (Object.keys(TABLE) as RideStatus[]).flatMap((status) =>
  (Object.keys(ACTIONS) as ActionName[]).map((name) => ({ status, name, outcome: TABLE[status][name] })),
);

describe("decide: every status × action", () => {
  it("covers all 7 statuses and every action", () => {
    expect(CASES).toHaveLength(7 * Object.keys(ACTIONS).length);
  });

  const allowed = CASES.flatMap(({ status, name, outcome }) =>
    typeof outcome === "string" ? [] : [{ status, name, to: outcome.to }],
  );

  describe.each(allowed)("a $status ride, $name", ({ status, name, to }) => {
    it(`moves to ${to}, with its event, timestamps and the next seq`, () => {
      const row = rideIn(status);
      const action = ACTIONS[name];
      const decision = decide(row, action, NOW);
      if (!decision.ok) throw new Error(`refused: ${decision.code} ${decision.detail}`);
      expect(decision.next.status).toBe(to);
      expect(decision.event).toBe(EVENT_OF[to]);
      expect(decision.next.lastSeq).toBe(row.lastSeq + 1);
      expect(decision.next).toEqual({ ...row, ...expectedChanges(row, action) });
      expect(decision.actorId).toBe(expectedActor(action));
    });
  });

  describe.each(CASES.filter((c) => typeof c.outcome === "string"))(
    "a $status ride, $name",
    ({ status, name, outcome }) => {
      it(`is refused with ${String(outcome)}`, () => {
        const row = rideIn(status);
        const snapshot = structuredClone(row);
        const decision = decide(row, ACTIONS[name], NOW);
        expect(decision).toMatchObject({ ok: false, code: outcome });
        if (!decision.ok) expect(decision.detail.length).toBeGreaterThan(0);
        expect(row).toEqual(snapshot); // decide is pure: the input is never mutated
      });
    },
  );
});

describe("cancellationFee", () => {
  const cancel = (role: "passenger" | "driver" | "system") =>
    cancelBy(role === "passenger" ? PASSENGER : role === "driver" ? DRIVER : "system", role) as Extract<
      RideAction,
      { kind: "cancel" }
    >;
  const acceptedAgo = (seconds: number): RideRow => ({ ...rideIn("accepted"), acceptedAt: ago(seconds) });

  it.each([
    { when: "the passenger cancels right after the accept", row: acceptedAgo(0), role: "passenger", fee: 0 },
    {
      when: "the passenger cancels within the grace period",
      row: acceptedAgo(60),
      role: "passenger",
      fee: 0,
    },
    {
      when: "the passenger cancels exactly at the end of the grace period",
      row: acceptedAgo(GRACE_SECONDS),
      role: "passenger",
      fee: 0,
    },
    {
      when: "the passenger cancels after the grace period",
      row: acceptedAgo(GRACE_SECONDS + 1),
      role: "passenger",
      fee: FEE_CENTS,
    },
    {
      when: "the passenger cancels long after the accept",
      row: acceptedAgo(3600),
      role: "passenger",
      fee: FEE_CENTS,
    },
    {
      when: "the passenger cancels after the grace period, the driver having arrived",
      row: { ...rideIn("arrived"), acceptedAt: ago(600) },
      role: "passenger",
      fee: FEE_CENTS,
    },
    { when: "the driver cancels after the grace period", row: acceptedAgo(3600), role: "driver", fee: 0 },
    { when: "the system cancels after the grace period", row: acceptedAgo(3600), role: "system", fee: 0 },
    {
      when: "the passenger cancels a ride nobody accepted",
      row: rideIn("requested"),
      role: "passenger",
      fee: 0,
    },
  ] as const)("is $fee when $when", ({ row, role, fee }) => {
    expect(cancellationFee(row, cancel(role), NOW)).toBe(fee);
  });

  it("is recorded on the ride when the passenger cancels after the grace period", () => {
    const decision = decide(acceptedAgo(GRACE_SECONDS + 30), cancel("passenger"), NOW);
    expect(decision).toMatchObject({
      ok: true,
      event: "ride.cancelled",
      next: { status: "cancelled", cancellationFeeCents: FEE_CENTS, cancelledBy: "passenger" },
    });
  });

  it("is nothing on a driver's cancellation after the grace period: the ride goes back on offer", () => {
    const decision = decide(acceptedAgo(3600), cancel("driver"), NOW);
    expect(decision).toMatchObject({
      ok: true,
      event: "ride.reassigning",
      next: { status: "requested", driverId: null, cancellationFeeCents: null, cancelledBy: null },
    });
  });
});

describe("a driver giving a ride back", () => {
  const driverCancel = cancelBy(DRIVER, "driver");

  it("keeps the ride's own deadline when it is later than a fresh request's", () => {
    const row = { ...rideIn("arrived"), expiresAt: ago(-900) };
    const decision = decide(row, driverCancel, NOW);
    expect(decision).toMatchObject({ ok: true, next: { status: "requested", expiresAt: ago(-900) } });
  });

  it("renews a deadline that has passed, so the ride can find another driver", () => {
    const row = { ...rideIn("accepted"), expiresAt: ago(30) };
    const decision = decide(row, driverCancel, NOW);
    expect(decision).toMatchObject({ ok: true, next: { expiresAt: ago(-REQUEST_TTL_SECONDS) } });
  });

  it("records the driver as the event's actor and keeps the seq contiguous", () => {
    const row = rideIn("arrived");
    const decision = decide(row, driverCancel, NOW);
    expect(decision).toMatchObject({ ok: true, actorId: DRIVER, next: { lastSeq: row.lastSeq + 1 } });
  });
});

describe("expiry", () => {
  it("carries the reason it is given", () => {
    const decision = decide(rideIn("requested"), { kind: "expire", reason: "no_driver_available" }, NOW);
    expect(decision).toMatchObject({
      ok: true,
      next: { status: "expired", expiredReason: "no_driver_available" },
    });
  });
});

describe("isTerminal", () => {
  it.each([
    ["requested", false],
    ["accepted", false],
    ["arrived", false],
    ["in_progress", false],
    ["completed", true],
    ["cancelled", true],
    ["expired", true],
  ] as const)("%s → %s", (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
  });
});
