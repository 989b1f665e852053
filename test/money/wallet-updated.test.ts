import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { releaseSettlement, releaseSettlements } from "../../src/services/settlements/release";
import { call, registerUser, type TestUser } from "../helpers";
import { fund, postPaidRide } from "../money-helpers";
import { captureNotificationJobs } from "../notification-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";
import { bearer, completeAtDropoff, onlineDriver, openSocket, postRide, requestRide } from "../ride-helpers";

// Every change to a driver's balances reaches the driver's channel as `wallet.updated`, carrying
// the wallet as GET /v1/wallet shows it after the change.

captureNotificationJobs();

async function channel(user: TestUser) {
  return openSocket("/v1/ws", bearer(user.accessToken));
}

async function wallet(user: TestUser) {
  const reply = await call("GET", "/v1/wallet", { token: user.accessToken });
  expect(reply.status).toBe(200);
  return reply.json;
}

function walletEvent(matches: (data: Record<string, number>) => boolean) {
  return (m: { type: string; data: Record<string, number> }) =>
    m.type === "wallet.updated" && matches(m.data);
}

describe("wallet.updated", () => {
  it("on a payout request: available went down by amount and fee", async () => {
    const driver = await registerUser("driver");
    await fund(10_000, driver.id);
    const socket = await channel(driver);
    await allowPayoutsTo(driver.id, "+5511987654321");
    const payout = await call("POST", "/v1/payouts", {
      token: driver.accessToken,
      headers: { "idempotency-key": `p-${driver.id}` },
      body: { amount_cents: 5000, pix_key: "+5511987654321" },
    });
    expect(payout.status, payout.text).toBe(202);
    const now = await wallet(driver);
    const event = await socket.next(walletEvent((d) => d.available_cents === now.available_cents));
    expect(event.data).toEqual(now);
    expect(now.available_cents).toBeLessThan(10_000);
  });

  it("on a settlement release, alone or in a batch: pending moved to available", async () => {
    const driver = await registerUser("driver");
    const socket = await channel(driver);
    const { transactionId } = await postPaidRide(driver.id, "2026-01-05T12:00:00Z", 1600, 400);
    const row = await env.DB.prepare("SELECT id FROM settlements WHERE source_transaction_id = ?")
      .bind(transactionId)
      .first<{ id: string }>();
    const outcome = await releaseSettlement(createServiceContext(env), String(row?.id), "2027-12-31");
    expect(outcome.status).toBe("released");
    await socket.next(walletEvent((d) => d.available_cents === 1600 && d.pending_cents === 0));

    const a = await postPaidRide(driver.id, "2026-01-05T12:00:00Z", 1000, 100);
    const b = await postPaidRide(driver.id, "2026-01-05T12:00:00Z", 1000, 100);
    const { results } = await env.DB.prepare(
      "SELECT id FROM settlements WHERE source_transaction_id IN (?, ?)",
    )
      .bind(a.transactionId, b.transactionId)
      .all<{ id: string }>();
    const summary = await releaseSettlements(
      createServiceContext(env),
      results.map((r) => r.id),
      "2027-12-31",
    );
    expect(summary.released).toBe(2);
    await socket.next(walletEvent((d) => d.available_cents === 3600 && d.pending_cents === 0));
  });

  it("on a cash ride's completion: the commission left the driver's credit", async () => {
    const driver = await onlineDriver();
    const passenger = await registerUser("passenger");
    const ride = await requestRide(passenger, { payment_method: "cash" });
    expect(ride.status, ride.text).toBe(201);
    const socket = await channel(driver);
    for (const step of ["accept", "arrive", "start"]) {
      expect((await postRide(driver.accessToken, ride.json.id, step)).status).toBe(200);
    }
    const done = await completeAtDropoff(driver, ride.json.id, { distance_m: 3000, duration_s: 600 });
    expect(done.status, done.text).toBe(200);
    const now = await wallet(driver);
    expect(now.credit_cents).toBeLessThan(0);
    const event = await socket.next(walletEvent((d) => d.credit_cents === now.credit_cents));
    expect(event.data).toEqual(now);
  });
});
