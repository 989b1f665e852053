import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import worker from "../../src/index";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import { driverAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { requestPayout } from "../../src/services/payouts/request";
import { sandboxControl } from "../efi-network";
import { registerWebhook } from "../efi-webhook-helpers";
import { call } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";
import { bearer, completeAtDropoff, onlineDriver, openSocket, requestedRide } from "../ride-helpers";

const WAIT = { timeout: 20_000, interval: 100 };

/**
 * The whole Pix path against the Efí sandbox, with nothing stubbed between them: a ride from
 * request to completion, its QR paid at the sandbox, Efí's webhook through our route and the
 * payments queue, the ledger credited once, settlement D+N by the nightly cron with a controlled
 * clock, the driver paid out by Pix through Efí, and every ledger invariant holding at the end.
 */
describe("a Pix ride, end to end against the Efí sandbox", { timeout: 120_000 }, () => {
  it("is paid, settled and paid out, and the ledger agrees", async () => {
    await registerWebhook();
    const { passenger, ride } = await requestedRide({ payment_method: "pix" });
    const driver = await onlineDriver();
    const passengerChannel = await openSocket("/v1/ws", bearer(passenger.accessToken));

    for (const step of ["accept", "arrive", "start"]) {
      const reply = await call("POST", `/v1/rides/${ride.id}/${step}`, { token: driver.accessToken });
      expect(reply.status, reply.text).toBe(200);
    }
    // At the dropoff; a normal trip is charged its quote, whatever the app reports.
    const completed = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
    expect(completed.status, completed.text).toBe(200);
    const fare = completed.json.final_fare_cents as number;
    expect(fare).toBe(ride.estimated_fare_cents);

    // The passenger is told how to pay: a BR Code and a QR image, also at GET /payment.
    const qr = await passengerChannel.next((m) => m.type === "payment.qr_generated", 10_000);
    expect(qr.data.copia_e_cola).toMatch(/^000201/);
    const payment = await call("GET", `/v1/rides/${ride.id}/payment`, { token: passenger.accessToken });
    expect(payment.status, payment.text).toBe(200);
    expect(payment.json).toMatchObject({ status: "pending", method: "pix", amount_cents: fare });
    const txid = payment.json.pix.txid as string;

    // The passenger's bank pays; Efí notifies us; the queue confirms against Efí and credits.
    const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
    expect(paid.status, paid.text).toBeLessThan(300);
    await vi.waitFor(async () => {
      const reply = await call("GET", `/v1/rides/${ride.id}/payment`, { token: passenger.accessToken });
      expect(reply.json.status).toBe("paid");
    }, WAIT);
    await passengerChannel.next((m) => m.type === "payment.confirmed", 10_000);

    const ctx = createServiceContext(env);
    const postings = await env.DB.prepare(
      "SELECT count(*) AS n FROM ledger_transactions WHERE idempotency_key = ?",
    )
      .bind(`ride:${ride.id}:payment`)
      .first<number>("n");
    expect(postings).toBe(1);
    const share = await balanceOf(ctx, driverAccount(driver.id, "pending"));
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(fare);

    // Efí resends the same notification: nothing moves a second time.
    const e2eId = (await call("GET", `/v1/rides/${ride.id}/payment`, { token: passenger.accessToken })).json
      .pix.end_to_end_id as string;
    await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2eId] });
    expect(await balanceOf(ctx, driverAccount(driver.id, "pending"))).toBe(share);

    // D+N: the nightly cron on the settlement's due date releases the share through the queue.
    const settlement = await env.DB.prepare("SELECT due_on FROM settlements WHERE ride_id = ?")
      .bind(ride.id)
      .first<{ due_on: string }>();
    expect(settlement).not.toBeNull();
    const dueAt = new Date(`${settlement?.due_on}T03:00:00Z`);
    const controller = createScheduledController({ scheduledTime: dueAt.getTime(), cron: "0 3 * * *" });
    const execution = createExecutionContext();
    await worker.scheduled?.(controller, env, execution);
    await waitOnExecutionContext(execution);
    await vi.waitFor(async () => {
      expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(share);
    }, WAIT);
    expect(await balanceOf(ctx, driverAccount(driver.id, "pending"))).toBe(0);

    // The driver is paid out by Pix through Efí; Efí's send result completes the payout. R$ 10,00:
    // Efí's homologação confirms sends up to that and rejects R$ 10,01–20,00.
    const efiCtx = { ...ctx, payoutRail: new EfiPayoutRail(ctx.efi) };
    await allowPayoutsTo(driver.id, "efipay@sejaefi.com.br");
    const payout = await requestPayout(efiCtx, driver.id, {
      amountCents: 1000,
      pixKey: "efipay@sejaefi.com.br",
    });
    await vi.waitFor(async () => {
      const row = await env.DB.prepare("SELECT status FROM payouts WHERE id = ?")
        .bind(payout.id)
        .first("status");
      expect(
        row,
        JSON.stringify(await env.DB.prepare("SELECT * FROM payouts WHERE id = ?").bind(payout.id).first()),
      ).toBe("paid");
    }, WAIT);
    expect(await balanceOf(ctx, driverAccount(driver.id, "available"))).toBe(share - 1000);

    await expectLedgerConsistent({ now: dueAt });
  });
});
