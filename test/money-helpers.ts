import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createServiceContext } from "../src/composition";
import { rides } from "../src/db/schema";
import type { ServiceContext } from "../src/services/context";
import { driverAccount, platformAccount } from "../src/services/ledger/accounts";
import { checkLedger } from "../src/services/ledger/check";
import type { LedgerCheckOptions, LedgerCheckReport } from "../src/services/ledger/invariants";
import { post } from "../src/services/ledger/post";
import { getSettlementConfig } from "../src/services/settlements/config";
import { scheduleSettlementStatement } from "../src/services/settlements/schedule";
import { unique } from "./helpers";

/**
 * Asserts that every ledger invariant holds (`checkLedger`); on failure the
 * message lists each breach. Call it at the end of every money test.
 *
 * The check covers the whole database of the test file, and it judges clearing accounts against
 * `now`: a scenario that posts Pix or card payments dated in the past and does not run the
 * clearing sweep should pass its own moment, e.g. `expectLedgerConsistent({ now: paidAt })`.
 */
export async function expectLedgerConsistent(
  options: LedgerCheckOptions & { ctx?: ServiceContext } = {},
): Promise<LedgerCheckReport> {
  const { ctx = createServiceContext(env), ...checkOptions } = options;
  const report = await checkLedger(ctx, checkOptions);
  const listing = report.breaches.map((b) => `  - ${b.invariant}: ${b.detail}`).join("\n");
  expect(report.ok, `the ledger breaks its invariants:\n${listing}`).toBe(true);
  expect(report.breaches).toEqual([]);
  return report;
}

/**
 * A driver (or passenger) row written straight into D1, for service-level money tests that need a
 * user to satisfy foreign keys (settlements, payouts) but no login. Returns the user id.
 */
export async function insertUser(role: "driver" | "passenger" = "driver"): Promise<string> {
  const id = `usr_${unique().toUpperCase()}`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO users (id, role, status, name, email, phone, password_hash, created_at, updated_at) VALUES (?, ?, 'active', 'Money Test', ?, '+5511900000000', 'x', ?, ?)",
  )
    .bind(id, role, `${role}-${unique()}@example.com`, now, now)
    .run();
  return id;
}

/**
 * The one way tests give a driver money: credits `cents` to the driver's available balance as a
 * released Pix earning would (clearing → available), and returns the driver's id. Without a
 * `driverId`, a driver row is inserted first (`insertUser`).
 */
export async function fund(cents: number, driverId?: string): Promise<string> {
  const id = driverId ?? (await insertUser("driver"));
  await post(createServiceContext(env), {
    idempotencyKey: `test:fund:${unique()}`,
    kind: "test.fund",
    reference: { type: "test", id: unique() },
    effectiveAt: new Date(),
    lines: [
      { account: platformAccount("efi_clearing"), amount: cents },
      { account: driverAccount(id, "available"), amount: -cents },
    ],
  });
  return id;
}

export interface CompletedRideInput {
  driverId: string;
  passengerId: string;
  fareCents: number;
  method: "pix" | "card" | "cash";
  completedAt: Date;
  category?: "pop" | "comfort";
}

/**
 * A completed São Paulo ride row written straight into D1 (the ride lifecycle has its own tests),
 * for the payment services that start from a completed ride. Returns the row as the ride
 * services read it, for `transitionStatements`.
 */
export async function insertCompletedRide(ctx: ServiceContext, input: CompletedRideInput) {
  const [row] = await insertCompletedRides(ctx, [input]);
  if (!row) throw new Error("unreachable");
  return row;
}

/** Several completed rides in one round trip (one D1 batch). */
export async function insertCompletedRides(ctx: ServiceContext, inputs: CompletedRideInput[]) {
  const rows = inputs.map(completedRideRow);
  const inserts = rows.map((row) => ctx.db.insert(rides).values(row));
  if (inserts.length > 0) await ctx.db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
  return rows;
}

function completedRideRow(input: CompletedRideInput): typeof rides.$inferSelect {
  const at = input.completedAt;
  const iso = (minutesBefore: number) => new Date(at.getTime() - minutesBefore * 60_000).toISOString();
  const category = input.category ?? "pop";
  const row: typeof rides.$inferSelect = {
    id: `ride_${unique().toUpperCase()}`,
    status: "completed",
    passengerId: input.passengerId,
    driverId: input.driverId,
    cityId: "sao_paulo",
    category,
    paymentMethod: input.method,
    pickupLat: -23.5503,
    pickupLng: -46.6339,
    pickupCell: "6gyf4bf",
    dropoffLat: -23.5614,
    dropoffLng: -46.6559,
    quoteId: null,
    pricingRuleId: `prc_sp_${category}_2026`,
    estimatedFareCents: input.fareCents,
    estimatedDistanceM: 3000,
    estimatedDurationS: 600,
    finalFareCents: input.fareCents,
    distanceM: 3000,
    durationS: 600,
    driverReportedDistanceM: null,
    driverReportedDurationS: null,
    fareReview: null,
    endedEarlyAt: null,
    cancellationFeeCents: null,
    cancelledBy: null,
    cancelReason: null,
    lastSeq: 5,
    expiresAt: iso(25),
    createdAt: iso(30),
    acceptedAt: iso(28),
    arrivedAt: iso(22),
    startedAt: iso(20),
    completedAt: at.toISOString(),
    cancelledAt: null,
    expiredAt: null,
    expiredReason: null,
    updatedAt: at.toISOString(),
    surgeMultiplierBp: null,
  };
  return row;
}

/**
 * The ledger side of a confirmed Pix ride payment, as the payments service writes it: clearing ←
 * fare, driver pending ← share, revenue ← commission, and the share's settlement scheduled D+N in
 * the same batch.
 */
export async function postPaidRide(driverId: string, confirmedAt: string, share = 1600, commission = 400) {
  const ctx = { ...createServiceContext(env), now: () => new Date(confirmedAt) };
  const config = await getSettlementConfig(ctx);
  const rideId = `ride_${unique()}`;
  const { transactionId } = await post(
    ctx,
    {
      idempotencyKey: `ride:${rideId}:payment`,
      kind: "ride.payment",
      reference: { type: "ride", id: rideId },
      effectiveAt: new Date(confirmedAt),
      lines: [
        { account: platformAccount("efi_clearing"), amount: share + commission },
        { account: driverAccount(driverId, "pending"), amount: -share },
        { account: platformAccount("revenue"), amount: -commission },
      ],
    },
    (txn) => [
      scheduleSettlementStatement(ctx, config, {
        driverId,
        sourceTransactionId: txn,
        rideId,
        amountCents: share,
        confirmedAt: new Date(confirmedAt),
      }),
    ],
  );
  return { rideId, transactionId };
}
