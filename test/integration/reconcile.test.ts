import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import { CRONS, handleScheduled } from "../../src/cron/index";
import { createEfiClient, type EfiFetch } from "../../src/integrations/efi";
import { newId } from "../../src/lib/ids";
import { requestRefund } from "../../src/services/refunds/request";
import { sandboxControl } from "../efi-network";
import { postings, registerWebhook, webhookEvents, withLostWebhooks } from "../efi-webhook-helpers";
import { call, createStaff, expectProblem, unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { ridePaymentRow } from "../payment-helpers";
import { completeAtDropoff, onlineDriver, postRide, requestedRide } from "../ride-helpers";

// The reconciler through its real entry points (the cron handler, the admin route) against the
// in-process Efí sandbox: whatever a lost webhook, a lost reply or an expired charge left
// undecided is asked of Efí and applied once.

beforeAll(async () => {
  await registerWebhook();
});

/** Runs the reconcile cron as if it fired `minutes` from now (past every threshold). */
async function reconcileCron(minutes = 30) {
  await handleScheduled(
    {
      cron: CRONS.reconcile,
      scheduledTime: Date.now() + minutes * 60_000,
      noRetry() {},
    } as ScheduledController,
    env,
    createExecutionContext(),
  );
}

async function completedPixRide() {
  const { ride } = await requestedRide({ payment_method: "pix" });
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  const done = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
  expect(done.status, done.text).toBe(200);
  const payment = await vi.waitFor(async () => {
    const row = await ridePaymentRow(ride.id);
    if (!row?.txid) throw new Error("no charge yet");
    return row;
  });
  return { rideId: ride.id as string, driver, payment };
}

async function lostPixPaid(txid: string): Promise<string> {
  return withLostWebhooks(async () => {
    const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
    expect(paid.status, paid.text).toBe(200);
    return paid.json.e2eId as string;
  });
}

describe("a Pix whose webhook was lost", () => {
  it("is paid by the reconciler once, and a second run changes nothing", async () => {
    const { rideId, payment } = await completedPixRide();
    const e2eId = await lostPixPaid(payment.txid);
    expect((await ridePaymentRow(rideId))?.status).toBe("pending");
    expect(await webhookEvents(e2eId)).toHaveLength(0);

    await reconcileCron();
    const paid = await ridePaymentRow(rideId);
    expect(paid).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    expect((await webhookEvents(e2eId)).map((r) => r.status)).toEqual(["processed"]);

    await reconcileCron();
    expect(await ridePaymentRow(rideId)).toEqual(paid);
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    await expectLedgerConsistent();

    // Over every day: run at São Paulo's midnight, the Pix's day is not the last one written.
    const days = await env.DB.prepare(
      "SELECT sum(received_cents) AS received_cents FROM efi_daily_totals",
    ).first<{
      received_cents: number;
    }>();
    expect(days?.received_cents).toBeGreaterThanOrEqual(payment.amount_cents);
  });

  it("re-queues an item Efí delivers again that was stored but never processed", async () => {
    const { rideId, payment } = await completedPixRide();
    const e2eId = await lostPixPaid(payment.txid);
    // Stored long ago and never queued (a crash between storing and queueing).
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const item = {
      kind: "pix_received",
      e2e_id: e2eId,
      txid: payment.txid,
      amount_cents: payment.amount_cents,
      paid_at: old,
      pix_key: env.EFI_PIX_KEY,
    };
    await env.DB.prepare(
      "INSERT INTO webhook_events (id, kind, end_to_end_id, sub_id, payload, status, received_at) VALUES (?, 'pix_received', ?, '', ?, 'received', ?)",
    )
      .bind(newId("whk"), e2eId, JSON.stringify({ item, efi: {} }), old)
      .run();
    // Efí's redelivery (reenviar) meets the stored row: it is queued again, not swallowed.
    const resent = await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2eId] });
    expect(resent.status, resent.text).toBeLessThan(300);
    await vi.waitFor(async () => expect((await ridePaymentRow(rideId))?.status).toBe("paid"), {
      timeout: 10_000,
    });
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);
    expect((await webhookEvents(e2eId)).map((r) => r.status)).toEqual(["processed"]);
  });
});

describe("a Pix paid after its charge expired and was regenerated", () => {
  it("is flagged by the reconciler and refundable by an admin, once; support may not", async () => {
    const { rideId, payment, driver } = await completedPixRide();
    const oldTxid = payment.txid as string;
    // Our clock says the charge lapsed; at Efí the old cob can still be paid.
    await env.DB.prepare("UPDATE payments SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), payment.id)
      .run();
    const staff = await createStaff("finance");
    const support = await createStaff("support");

    // The passenger regenerates (through the driver, a party of the ride) and pays the new charge.
    const regen = await call("POST", `/v1/rides/${rideId}/payment/regenerate`, { token: driver.accessToken });
    expect(regen.status, regen.text).toBe(200);
    const newTxid = (await ridePaymentRow(rideId))?.txid as string;
    expect(newTxid).not.toBe(oldTxid);
    const paidNew = await sandboxControl("POST", `/sandbox/charges/${newTxid}/pay`);
    expect(paidNew.status, paidNew.text).toBe(200);
    await vi.waitFor(async () => expect((await ridePaymentRow(rideId))?.status).toBe("paid"), {
      timeout: 10_000,
    });

    // ...and the old one too, whose webhook is lost.
    const e2eId = await lostPixPaid(oldTxid);
    await reconcileCron();
    const [flagged] = await webhookEvents(e2eId);
    expect(flagged).toMatchObject({ status: "flagged" });
    expect(flagged?.detail).toContain("duplicate payment");
    expect(await postings(`ride:${rideId}:payment`)).toBe(1);

    const path = `/v1/admin/pix/${e2eId}/refund`;
    const denied = await call("POST", path, {
      token: support.accessToken,
      body: {},
      headers: { "idempotency-key": unique() },
    });
    expectProblem(denied, 403, "forbidden");
    expectProblem(
      await call("POST", "/v1/admin/reconcile", { token: support.accessToken }),
      403,
      "forbidden",
    );

    const refund = await call("POST", path, {
      token: staff.accessToken,
      body: { reason: "paid twice" },
      headers: { "idempotency-key": unique() },
    });
    expect(refund.status, refund.text).toBe(202);
    expect(refund.json).toMatchObject({ end_to_end_id: e2eId, amount_cents: payment.amount_cents });
    await vi.waitFor(
      async () => {
        const row = await env.DB.prepare("SELECT status FROM flagged_pix_refunds WHERE end_to_end_id = ?")
          .bind(e2eId)
          .first<{ status: string }>();
        expect(row?.status).toBe("refunded");
      },
      { timeout: 10_000 },
    );
    // Asking again answers the same refund; Efí holds one devolução of that Pix.
    const again = await call("POST", path, {
      token: staff.accessToken,
      body: {},
      headers: { "idempotency-key": unique() },
    });
    expect(again.status, again.text).toBe(202);
    expect(again.json.id).toBe(refund.json.id);
    const devolucoes = await env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM refunds WHERE e2e_id = ?")
      .bind(e2eId)
      .first<number>("n");
    expect(devolucoes).toBe(1);
    // The paid payment is untouched; a Pix that paid it is refunded through the payment instead.
    expect((await ridePaymentRow(rideId))?.status).toBe("paid");
    const paidE2e = (await ridePaymentRow(rideId))?.end_to_end_id as string;
    expectProblem(
      await call("POST", `/v1/admin/pix/${paidE2e}/refund`, {
        token: staff.accessToken,
        body: {},
        headers: { "idempotency-key": unique() },
      }),
      404,
      "not_found",
    );
    await expectLedgerConsistent();
  });
});

describe("the admin reconcile route", () => {
  it("runs for finance and reports its steps", async () => {
    const finance = await createStaff("finance");
    const reply = await call("POST", "/v1/admin/reconcile", { token: finance.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(Object.keys(reply.json.steps)).toEqual(
      expect.arrayContaining([
        "unprocessed_items",
        "pix_charges",
        "statement",
        "payouts",
        "refunds",
        "cards",
      ]),
    );
    expect(reply.json.failed).toEqual([]);
  });
});

describe("a refund whose request ended in 429 after an uncertain first try", () => {
  it("stays processing (nothing refunded twice, nothing failed), and the reconciler settles it once", async () => {
    const { rideId, payment } = await completedPixRide();
    const paid = await sandboxControl("POST", `/sandbox/charges/${payment.txid}/pay`);
    expect(paid.status, paid.text).toBe(200);
    await vi.waitFor(async () => expect((await ridePaymentRow(rideId))?.status).toBe("paid"), {
      timeout: 10_000,
    });
    const finance = await createStaff("finance");

    // The first PUT of the devolução reaches Efí and its reply is lost; the retry meets a 429.
    let puts = 0;
    const flaky: EfiFetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.method === "PUT" && new URL(request.url).pathname.includes("/devolucao/")) {
        puts += 1;
        if (puts === 1) {
          await fetch(request);
          throw new TypeError("fetch failed: connection reset by peer");
        }
        return new Response(JSON.stringify({ nome: "too_many_requests", mensagem: "Limite excedido" }), {
          status: 429,
        });
      }
      return fetch(request);
    };
    const base = createServiceContext(env);
    const efi = createEfiClient({
      baseUrl: env.EFI_PIX_BASE_URL,
      clientId: env.EFI_CLIENT_ID,
      clientSecret: env.EFI_CLIENT_SECRET,
      pixKey: env.EFI_PIX_KEY,
      fetch: flaky,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const result = await withLostWebhooks(() =>
      requestRefund({ ...base, efi }, { paymentId: payment.id, actorId: finance.id }),
    );
    expect(puts).toBe(2);
    expect(result.refund.status).toBe("processing");
    const devolucoes = () =>
      env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM refunds WHERE e2e_id = ?")
        .bind(paid.json.e2eId)
        .first<number>("n");
    expect(await devolucoes()).toBe(1);

    await reconcileCron();
    const refund = await env.DB.prepare("SELECT status FROM refunds WHERE id = ?")
      .bind(result.refund.id)
      .first<string>("status");
    expect(refund).toBe("refunded");
    expect((await ridePaymentRow(rideId))?.status).toBe("refunded");
    await reconcileCron();
    expect(await postings(`refund:${result.refund.id}`)).toBe(1);
    expect(await devolucoes()).toBe(1);
    await expectLedgerConsistent();
  });
});
