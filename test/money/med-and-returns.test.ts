import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import worker from "../../src/index";
import { idEnvioOf } from "../../src/integrations/efi/ids";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import { goOnline } from "../../src/services/drivers/availability";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { requestPayout } from "../../src/services/payouts/request";
import { sandboxControl } from "../efi-network";
import { registerWebhook } from "../efi-webhook-helpers";
import { call, createStaff, expectProblem } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";
import { bearer, completeAtDropoff, onlineDriver, openSocket, requestedRide, SE } from "../ride-helpers";

const WAIT = { timeout: 20_000, interval: 100 };

/** A Pix ride completed and paid at the Efí sandbox, its webhook processed. */
async function paidPixRide() {
  await registerWebhook();
  const { passenger, ride } = await requestedRide({ payment_method: "pix" });
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await call("POST", `/v1/rides/${ride.id}/${step}`, { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
  }
  const completed = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
  expect(completed.status, completed.text).toBe(200);
  const fare = completed.json.final_fare_cents as number;
  const pending = await call("GET", `/v1/rides/${ride.id}/payment`, { token: passenger.accessToken });
  const paid = await sandboxControl("POST", `/sandbox/charges/${pending.json.pix.txid}/pay`);
  expect(paid.status, paid.text).toBeLessThan(300);
  let e2eId = "";
  await vi.waitFor(async () => {
    const reply = await call("GET", `/v1/rides/${ride.id}/payment`, { token: passenger.accessToken });
    expect(reply.json.status).toBe("paid");
    e2eId = reply.json.pix.end_to_end_id as string;
  }, WAIT);
  return { passenger, driver, ride, fare, e2eId };
}

async function paymentRow(rideId: string) {
  return env.DB.prepare("SELECT id, status, refunded_cents FROM payments WHERE ride_id = ?")
    .bind(rideId)
    .first<{ id: string; status: string; refunded_cents: number }>();
}

describe("MED: the payer's bank takes a received Pix back", { timeout: 120_000 }, () => {
  it("reverses the ride payment once: passenger's payment refunded, driver's share and commission taken back", async () => {
    const { passenger, driver, ride, fare, e2eId } = await paidPixRide();
    const ctx = createServiceContext(env);
    const share = await balanceOf(ctx, driverAccount(driver.id, "pending"));
    expect(share).toBeGreaterThan(0);
    const revenueBefore = await balanceOf(ctx, platformAccount("revenue"));
    const passengerChannel = await openSocket("/v1/ws", bearer(passenger.accessToken));
    const driverChannel = await openSocket("/v1/ws", bearer(driver.accessToken));

    const med = await sandboxControl("POST", `/sandbox/pix/${e2eId}/med`);
    expect(med.status, med.text).toBe(200);

    await vi.waitFor(async () => {
      expect(await paymentRow(ride.id)).toMatchObject({ status: "refunded", refunded_cents: fare });
    }, WAIT);
    const reversed = await passengerChannel.next((m) => m.type === "payment.reversed", 10_000);
    expect(reversed.data).toMatchObject({ ride_id: ride.id, amount_cents: fare, reason: "med" });
    await driverChannel.next((m) => m.type === "payment.reversed", 10_000);

    // The share is taken back from available (it was still pending: the driver now owes it until
    // the scheduled release brings the pending share over); the commission leaves revenue.
    expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(-share);
    expect(await balanceOf(ctx, platformAccount("revenue"))).toBe(revenueBefore - (fare - share));
    const refund = await env.DB.prepare(
      "SELECT status, requested_by, reason, provider_reference FROM refunds WHERE payment_id = (SELECT id FROM payments WHERE ride_id = ?)",
    )
      .bind(ride.id)
      .all<{ status: string; requested_by: string | null; reason: string; provider_reference: string }>();
    expect(refund.results).toHaveLength(1);
    expect(refund.results[0]).toMatchObject({
      status: "refunded",
      requested_by: null,
      provider_reference: med.json.rtrId,
    });
    expect(refund.results[0]?.reason).toMatch(/^med: /);

    // Efí tells us again: nothing moves a second time.
    await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2eId] });
    await vi.waitFor(async () => {
      const rows = await env.DB.prepare(
        "SELECT count(*) AS n FROM webhook_events WHERE end_to_end_id = ? AND kind = 'refund' AND status = 'received'",
      )
        .bind(e2eId)
        .first<number>("n");
      expect(rows).toBe(0);
    }, WAIT);
    expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(-share);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM refunds WHERE provider_reference = ?")
      .bind(med.json.rtrId)
      .first<number>("n");
    expect(count).toBe(1);
    // The wallet shows the debt; within the configured limit the driver keeps driving, beyond it
    // he cannot go online until earnings cover it.
    const wallet = await call("GET", "/v1/wallet", { token: driver.accessToken });
    expect(wallet.json).toMatchObject({ available_cents: -share, debt_cents: share });
    const strict = { ...ctx, config: { ...ctx.config, DRIVER_DEBT_ONLINE_LIMIT_CENTS: share - 1 } };
    await expect(goOnline(strict, driver.id, SE)).rejects.toMatchObject({ code: "driver_in_debt" });
    const lenient = { ...ctx, config: { ...ctx.config, DRIVER_DEBT_ONLINE_LIMIT_CENTS: share } };
    await expect(goOnline(lenient, driver.id, SE)).resolves.toMatchObject({ status: "online" });
    passengerChannel.socket.close();
    driverChannel.socket.close();
    await expectLedgerConsistent();
  });

  it("a partial MED refunds that part, and the admin can refund no more than what is left", async () => {
    const { ride, fare, e2eId } = await paidPixRide();
    const med = await sandboxControl("POST", `/sandbox/pix/${e2eId}/med`, { valor: "1.00" });
    expect(med.status, med.text).toBe(200);
    await vi.waitFor(async () => {
      expect(await paymentRow(ride.id)).toMatchObject({ status: "partially_refunded", refunded_cents: 100 });
    }, WAIT);
    const payment = await paymentRow(ride.id);
    const finance = await createStaff("finance");
    const tooMuch = await call("POST", `/v1/admin/payments/${payment?.id}/refund`, {
      token: finance.accessToken,
      headers: { "idempotency-key": `med-${ride.id}` },
      body: { amount_cents: fare, reason: "more than is left" },
    });
    expectProblem(tooMuch, 422, "refund_exceeds_paid");
    const rest = await call("POST", `/v1/admin/payments/${payment?.id}/refund`, {
      token: finance.accessToken,
      headers: { "idempotency-key": `med-rest-${ride.id}` },
      body: { amount_cents: fare - 100, reason: "the rest" },
    });
    expect(rest.status, rest.text).toBe(202);
    await expectLedgerConsistent();
  });
});

describe("a payout the receiving bank returns", { timeout: 120_000 }, () => {
  it("credits the driver's available balance once, keeps the fee", async () => {
    const { driver, ride } = await paidPixRide();
    const ctx = createServiceContext(env);
    const share = await balanceOf(ctx, driverAccount(driver.id, "pending"));
    const settlement = await env.DB.prepare("SELECT due_on FROM settlements WHERE ride_id = ?")
      .bind(ride.id)
      .first<{ due_on: string }>();
    const dueAt = new Date(`${settlement?.due_on}T03:00:00Z`);
    const execution = createExecutionContext();
    await worker.scheduled?.(
      createScheduledController({ scheduledTime: dueAt.getTime(), cron: "0 3 * * *" }),
      env,
      execution,
    );
    await waitOnExecutionContext(execution);
    await vi.waitFor(async () => {
      expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(share);
    }, WAIT);

    await allowPayoutsTo(driver.id, "efipay@sejaefi.com.br");
    const payout = await requestPayout({ ...ctx, payoutRail: new EfiPayoutRail(ctx.efi) }, driver.id, {
      amountCents: 1000,
      pixKey: "efipay@sejaefi.com.br",
    });
    await vi.waitFor(async () => {
      const status = await env.DB.prepare("SELECT status FROM payouts WHERE id = ?")
        .bind(payout.id)
        .first("status");
      expect(status).toBe("paid");
    }, WAIT);
    const afterPayout = await balanceOf(ctx, driverAccount(driver.id, "available"));
    const idEnvio = idEnvioOf(payout.id);
    const driverChannel = await openSocket("/v1/ws", bearer(driver.accessToken));

    const returned = await sandboxControl("POST", `/sandbox/pix-sends/${idEnvio}/return`, { valor: "6.00" });
    expect(returned.status, returned.text).toBe(200);
    await vi.waitFor(async () => {
      expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(afterPayout + 600);
    }, WAIT);
    const event = await driverChannel.next((m) => m.type === "payout.returned", 10_000);
    expect(event.data).toMatchObject({ payout_id: payout.id, amount_cents: 600 });

    // Told again: nothing moves twice. The payout stays paid.
    const e2e = await env.DB.prepare(
      "SELECT end_to_end_id FROM webhook_events WHERE kind = 'refund' AND payload LIKE ? LIMIT 1",
    )
      .bind(`%${idEnvio}%`)
      .first<string>("end_to_end_id");
    expect(e2e).toBeTruthy();
    await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2e] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(afterPayout + 600);
    const status = await env.DB.prepare("SELECT status FROM payouts WHERE id = ?")
      .bind(payout.id)
      .first("status");
    expect(status).toBe("paid");
    driverChannel.socket.close();
    await expectLedgerConsistent({ now: dueAt });
  });
});
