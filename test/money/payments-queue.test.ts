import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { txidOf } from "../../src/integrations/efi";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import { newId } from "../../src/lib/ids";
import { retryDelaySeconds } from "../../src/queues/retry";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { completePayout } from "../../src/services/payouts/complete";
import { requestPayout } from "../../src/services/payouts/request";
import { QUEUES } from "../../src/services/queue-messages";
import { requestRefund } from "../../src/services/refunds/request";
import { ingestEfiNotification } from "../../src/services/webhooks/ingest";
import { CONFIRM_ATTEMPTS } from "../../src/services/webhooks/outcome";
import { EFI_SANDBOX_HOST, sandboxControl } from "../efi-network";
import {
  deliverToQueue,
  fakeE2eId,
  lastNotificationBody,
  postings,
  processItems,
  receivedItem,
  registerWebhook,
  webhookEvents,
} from "../efi-webhook-helpers";
import { expectLedgerConsistent, fund, insertCompletedRide, insertUser } from "../money-helpers";
import { paymentRowById } from "../payment-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

// The payments queue consumer, driven explicitly through the Worker's queue handler. Efí's
// notifications in this file go to a URL that answers 404 (lost), so nothing reaches the real
// queue: each test takes the notification the sandbox tried to send, stores it through the
// intake with a capturing queue, and delivers the captured messages itself.

beforeAll(async () => {
  await registerWebhook("http://localhost/nowhere?ignorar=");
});

const FARE = 2000; // pop, 20 %: commission 400
const COMMISSION = 400;

function ctx(overrides: Partial<ServiceContext> = {}): ServiceContext {
  return { ...createServiceContext(env), ...overrides };
}

/** Stores a notification through the intake; returns the queue messages it would have sent. */
async function ingest(body: string | unknown) {
  const sent: unknown[] = [];
  const queue = {
    async send(message: unknown) {
      sent.push(message);
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue;
  const result = await ingestEfiNotification(
    ctx({ env: { ...env, PAYMENTS_QUEUE: queue } }),
    typeof body === "string" ? body : JSON.stringify(body),
  );
  return { result, messages: sent };
}

/** Stores the sandbox's last notification about `e2eId` and runs the consumer on it. */
async function notifyAndProcess(e2eId: string, attempts = 1) {
  const { messages } = await ingest(await lastNotificationBody(e2eId));
  const delivered = await deliverToQueue(QUEUES.payments, messages, attempts);
  return { ...delivered, messages };
}

type Purpose = "ride" | "credit_topup";

/**
 * A pending Pix payment with its charge at the sandbox, as the payments service creates them:
 * for a ride, a completed ride row; for a top-up, the driver's own payment.
 */
async function pendingPixPayment(purpose: Purpose = "ride", amountCents = FARE) {
  const driverId = await insertUser("driver");
  const passengerId = await insertUser("passenger");
  const c = ctx();
  const ride =
    purpose === "ride"
      ? await insertCompletedRide(c, {
          driverId,
          passengerId,
          fareCents: amountCents,
          method: "pix",
          completedAt: new Date(),
        })
      : null;
  const paymentId = newId("pay");
  const txid = txidOf(paymentId, 1);
  const charge = await c.efi.createCharge({ txid, amountCents, expiresInSeconds: 3600 });
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO payments (id, purpose, ride_id, payer_id, method, status, amount_cents, attempt, txid, loc_id, created_at, updated_at, expires_at)
     VALUES (?, ?, ?, ?, 'pix', 'pending', ?, 1, ?, ?, ?, ?, ?)`,
  )
    .bind(
      paymentId,
      purpose,
      ride?.id ?? null,
      purpose === "ride" ? passengerId : driverId,
      amountCents,
      txid,
      charge.locId,
      now,
      now,
      new Date(Date.now() + 3600_000).toISOString(),
    )
    .run();
  return { paymentId, txid, driverId, passengerId, rideId: ride?.id ?? null };
}

async function payAtEfi(txid: string, valor?: string): Promise<string> {
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`, valor ? { valor } : {});
  expect(paid.status, paid.text).toBe(200);
  return paid.json.e2eId as string;
}

const balance = (ref: Parameters<typeof balanceOf>[1]) => balanceOf(ctx(), ref);

describe("payments queue: a received Pix", () => {
  it("is confirmed against Efí and credited once, however often and however concurrently it is delivered", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    const clearing = await balance(platformAccount("efi_clearing"));

    const { messages, result } = await notifyAndProcess(e2eId);
    expect(messages).toEqual([
      { type: "efi.webhook_item", event_id: expect.stringMatching(/^whk_/), kind: "pix_received" },
    ]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    const paid = await paymentRowById(p.paymentId);
    expect(paid).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    expect(paid?.ledger_transaction_id).toMatch(/^txn_/);
    expect(await webhookEvents(e2eId)).toMatchObject([{ status: "processed" }]);

    // Redelivered, twice at once, and once more: acked, nothing moves again.
    const again = await Promise.all([
      deliverToQueue(QUEUES.payments, messages, 2),
      deliverToQueue(QUEUES.payments, messages, 2),
      deliverToQueue(QUEUES.payments, messages, 3),
    ]);
    for (const { result: r } of again) expect(r.explicitAcks).toHaveLength(1);
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(1);
    expect(await balance(driverAccount(p.driverId, "pending"))).toBe(FARE - COMMISSION);
    expect(await balance(platformAccount("efi_clearing"))).toBe(clearing + FARE);
    expect(await paymentRowById(p.paymentId)).toMatchObject({
      ledger_transaction_id: paid?.ledger_transaction_id,
    });
    await expectLedgerConsistent();
  });

  it("two consumers racing on the same new item post once", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    const { messages } = await ingest(await lastNotificationBody(e2eId));
    const results = await Promise.all(
      Array.from({ length: 5 }, () => deliverToQueue(QUEUES.payments, messages)),
    );
    for (const { result } of results) expect(result.explicitAcks).toHaveLength(1);
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(1);
    expect(await webhookEvents(e2eId)).toMatchObject([{ status: "processed" }]);
    expect(await balance(driverAccount(p.driverId, "pending"))).toBe(FARE - COMMISSION);
    await expectLedgerConsistent();
  });

  it("whose amount differs from the charge credits nothing: flagged, the payment still pending", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid, "19.99");
    const { result } = await notifyAndProcess(e2eId);
    expect(result.explicitAcks).toHaveLength(1);
    const [event] = await webhookEvents(e2eId);
    expect(event?.status).toBe("flagged");
    expect(event?.detail).toMatch(/amount mismatch: .* is 2000, the charge 2000, the Pix 1999 centavos/);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "pending", end_to_end_id: null });
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(0);
    expect(await balance(driverAccount(p.driverId, "pending"))).toBe(0);
    await expectLedgerConsistent();
  });

  it("whose body lies about the amount is credited by Efí's record, not the body", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    const body = JSON.parse(await lastNotificationBody(e2eId));
    body.pix[0].valor = "999.99";
    const { messages } = await ingest(body);
    await deliverToQueue(QUEUES.payments, messages);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid", amount_cents: FARE });
    expect(await balance(driverAccount(p.driverId, "pending"))).toBe(FARE - COMMISSION);
    await expectLedgerConsistent();
  });

  it("that Efí does not show yet is retried with backoff, then flagged; nothing is credited", async () => {
    const p = await pendingPixPayment();
    const e2eId = fakeE2eId();
    const { messages } = await ingest({ pix: [receivedItem({ e2eId, txid: p.txid, valor: "20.00" })] });
    for (let attempts = 1; attempts < CONFIRM_ATTEMPTS; attempts++) {
      const { result, retried } = await deliverToQueue(QUEUES.payments, messages, attempts);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toEqual([{ msgId: expect.any(String) }]);
      expect(retried).toEqual([{ delaySeconds: retryDelaySeconds(attempts) }]);
      expect(await webhookEvents(e2eId)).toMatchObject([{ status: "received" }]);
    }
    const { result } = await deliverToQueue(QUEUES.payments, messages, CONFIRM_ATTEMPTS);
    expect(result.explicitAcks).toHaveLength(1);
    const [event] = await webhookEvents(e2eId);
    expect(event?.status).toBe("flagged");
    expect(event?.detail).toContain("not confirmed by Efí");
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "pending" });
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(0);
    await expectLedgerConsistent();
  });

  it("for a txid we never issued is flagged without asking Efí", async () => {
    const e2eId = fakeE2eId();
    const { messages } = await ingest({ pix: [receivedItem({ e2eId, txid: `pay${"Q".repeat(26)}a1` })] });
    const { result } = await deliverToQueue(QUEUES.payments, messages);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await webhookEvents(e2eId))[0]?.detail).toContain("unknown txid");
    const noTxid = fakeE2eId();
    const second = await ingest({ pix: [receivedItem({ e2eId: noTxid })] });
    await deliverToQueue(QUEUES.payments, second.messages);
    expect((await webhookEvents(noTxid))[0]).toMatchObject({
      status: "flagged",
      detail: expect.stringContaining("without txid"),
    });
  });

  it("paying an expired charge's payment still pays it: the money arrived", async () => {
    const p = await pendingPixPayment();
    await env.DB.prepare("UPDATE payments SET status = 'expired' WHERE id = ?").bind(p.paymentId).run();
    const e2eId = await payAtEfi(p.txid);
    await notifyAndProcess(e2eId);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(1);
    await expectLedgerConsistent();
  });

  it("a second Pix for a paid ride (an old charge paid too) credits nothing and is flagged for refund", async () => {
    const p = await pendingPixPayment();
    // The passenger pays the first charge; its notification is late. The charge is replaced
    // (attempt 2, as a regeneration does) and the passenger pays that one as well.
    const first = await payAtEfi(p.txid);
    const txid2 = txidOf(p.paymentId, 2);
    await ctx().efi.createCharge({ txid: txid2, amountCents: FARE, expiresInSeconds: 3600 });
    await env.DB.prepare("UPDATE payments SET attempt = 2, txid = ? WHERE id = ?")
      .bind(txid2, p.paymentId)
      .run();
    const second = await payAtEfi(txid2);

    // The first charge's Pix is found by the payment id its txid encodes, and pays the ride.
    await notifyAndProcess(first);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid", end_to_end_id: first });
    await notifyAndProcess(second);
    const [event] = await webhookEvents(second);
    expect(event?.status).toBe("flagged");
    expect(event?.detail).toContain("duplicate payment");
    expect(event?.detail).toContain(`refund ${second}`);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid", end_to_end_id: first });
    expect(await postings(`ride:${p.rideId}:payment`)).toBe(1);
    expect(await balance(driverAccount(p.driverId, "pending"))).toBe(FARE - COMMISSION);
    await expectLedgerConsistent();
  });

  it("a top-up credits the driver's prepaid credit once", async () => {
    const p = await pendingPixPayment("credit_topup", 5000);
    const before = await balance(driverAccount(p.driverId, "credit"));
    const e2eId = await payAtEfi(p.txid);
    const { messages } = await notifyAndProcess(e2eId);
    await deliverToQueue(QUEUES.payments, messages, 2);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    expect(await balance(driverAccount(p.driverId, "credit"))).toBe(before + 5000);
    expect(await postings(`topup:${p.paymentId}`)).toBe(1);
    await expectLedgerConsistent();
  });

  it("when Efí cannot be reached, the message is retried and nothing changes", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    const { messages } = await ingest(await lastNotificationBody(e2eId));
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (new URL(request.url).host === EFI_SANDBOX_HOST && request.method === "GET") {
        throw new TypeError("fetch failed: connection refused");
      }
      return realFetch(request);
    }) as typeof fetch;
    try {
      const { result, retried } = await deliverToQueue(QUEUES.payments, messages, 3);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toEqual([{ msgId: expect.any(String) }]);
      expect(retried).toEqual([{ delaySeconds: retryDelaySeconds(3) }]);
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(await webhookEvents(e2eId)).toMatchObject([{ status: "received" }]);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "pending" });
    // The retry, with Efí back, applies it.
    await deliverToQueue(QUEUES.payments, messages, 4);
    expect(await paymentRowById(p.paymentId)).toMatchObject({ status: "paid" });
    await expectLedgerConsistent();
  });
});

describe("payments queue: refunds", () => {
  it("Efí's refund notification applies the refund's outcome, once", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    await notifyAndProcess(e2eId);
    const admin = await insertUser("passenger");
    // The sandbox settles the refund right after answering, and notifies (lost, in this file).
    const { refund } = await requestRefund(ctx(), {
      paymentId: p.paymentId,
      amountCents: 500,
      actorId: admin,
    });
    expect(refund.status).toBe("processing");

    const { messages } = await ingest(await lastNotificationBody(e2eId));
    expect(messages).toEqual([{ type: "efi.webhook_item", event_id: expect.any(String), kind: "refund" }]);
    await deliverToQueue(QUEUES.payments, messages);
    await deliverToQueue(QUEUES.payments, messages, 2);
    const refunds = (await webhookEvents(e2eId)).filter((r) => r.kind === "refund");
    expect(refunds).toMatchObject([{ status: "processed", sub_id: refund.id.replace("_", "") }]);
    const row = await env.DB.prepare("SELECT status FROM refunds WHERE id = ?")
      .bind(refund.id)
      .first<string>("status");
    expect(row).toBe("refunded");
    expect(await paymentRowById(p.paymentId)).toMatchObject({
      status: "partially_refunded",
      refunded_cents: 500,
    });
    expect(await postings(`refund:${refund.id}`)).toBe(1);
    await expectLedgerConsistent();
  });

  it("a refund Efí does not know, or money back from a payout, is flagged", async () => {
    const p = await pendingPixPayment();
    const e2eId = await payAtEfi(p.txid);
    await notifyAndProcess(e2eId);
    const body = JSON.parse(await lastNotificationBody(e2eId));
    const at = new Date().toISOString();
    body.pix[0].devolucoes = [
      {
        id: `rfd${"Z".repeat(26)}`,
        rtrId: "D1",
        valor: "1.00",
        horario: { solicitacao: at },
        status: "DEVOLVIDO",
      },
    ];
    const forged = await ingest(body);
    await deliverToQueue(QUEUES.payments, forged.messages);
    const refundRow = (await webhookEvents(e2eId)).find((r) => r.kind === "refund");
    expect(refundRow).toMatchObject({
      status: "flagged",
      detail: expect.stringContaining("Efí knows no refund"),
    });

    const sent = fakeE2eId();
    const back = await ingest({
      pix: [
        {
          endToEndId: sent,
          chave: env.EFI_PIX_KEY,
          tipo: "SOLICITACAO",
          status: "REALIZADO",
          valor: "4.00",
          horario: at,
          gnExtras: { idEnvio: `pout${"Z".repeat(26)}` },
          devolucoes: [
            { id: "D1abc", rtrId: "D2", valor: "2.00", horario: { solicitacao: at }, status: "DEVOLVIDO" },
          ],
        },
      ],
    });
    await deliverToQueue(QUEUES.payments, back.messages);
    const rows = await webhookEvents(sent);
    expect(rows.find((r) => r.kind === "refund")?.detail).toContain("Efí knows no Pix send");
    expect(rows.find((r) => r.kind === "pix_sent")?.detail).toContain("unknown idEnvio");
    await expectLedgerConsistent();
  });
});

describe("payments queue: Pix send results complete payouts", () => {
  /** A payout sent by Efí's rail; the sandbox settles it by amount and notifies (lost here). */
  async function efiPayout(driverId: string, amountCents: number) {
    const c = ctx();
    await allowPayoutsTo(driverId, "+5511987654321");
    const payout = await requestPayout({ ...c, payoutRail: new EfiPayoutRail(c.efi) }, driverId, {
      amountCents,
      pixKey: "+5511987654321",
    });
    expect(payout).toMatchObject({ status: "in_transit", rail: "efi" });
    const row = await env.DB.prepare("SELECT rail_reference FROM payouts WHERE id = ?")
      .bind(payout.id)
      .first<string>("rail_reference");
    return { payoutId: payout.id, e2eId: row as string };
  }

  it("REALIZADO pays the payout once", async () => {
    const driverId = await fund(3000);
    const { payoutId, e2eId } = await efiPayout(driverId, 1000); // ≤ R$10.00: the sandbox pays it
    const inTransit = await balance(platformAccount("payouts_in_transit"));
    const { messages } = await notifyAndProcess(e2eId);
    expect(messages).toMatchObject([{ kind: "pix_sent" }]);
    await deliverToQueue(QUEUES.payments, messages, 2);
    const payout = await env.DB.prepare("SELECT status, failure_reason FROM payouts WHERE id = ?")
      .bind(payoutId)
      .first();
    expect(payout).toEqual({ status: "paid", failure_reason: null });
    expect(await postings(`payout:${payoutId}:paid`)).toBe(1);
    expect(await balance(platformAccount("payouts_in_transit"))).toBe(inTransit - 1000);
    expect(await balance(driverAccount(driverId, "available"))).toBe(2000);
    expect(await webhookEvents(e2eId)).toMatchObject([{ kind: "pix_sent", status: "processed" }]);
    await expectLedgerConsistent();
  });

  it("NAO_REALIZADO fails the payout and gives the money back to available, once", async () => {
    const driverId = await fund(3000);
    const { payoutId, e2eId } = await efiPayout(driverId, 1500); // R$10.01–20.00: the sandbox rejects it
    expect(await balance(driverAccount(driverId, "available"))).toBe(1500);
    const { messages } = await notifyAndProcess(e2eId);
    await deliverToQueue(QUEUES.payments, messages, 2);
    const payout = await env.DB.prepare("SELECT status, failure_reason FROM payouts WHERE id = ?")
      .bind(payoutId)
      .first<{ status: string; failure_reason: string }>();
    expect(payout?.status).toBe("failed");
    expect(payout?.failure_reason).toContain("AC03");
    expect(await balance(driverAccount(driverId, "available"))).toBe(3000);
    expect(await webhookEvents(e2eId)).toMatchObject([{ kind: "pix_sent", status: "processed" }]);
    const reversals = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM ledger_transactions WHERE reference_type = 'payout' AND reference_id = ? AND kind = 'payout.failed'",
    )
      .bind(payoutId)
      .first<number>("n");
    expect(reversals).toBe(1);
    await expectLedgerConsistent();
  });

  it("a result that contradicts an outcome already applied is flagged and moves nothing", async () => {
    const driverId = await fund(3000);
    const { payoutId, e2eId } = await efiPayout(driverId, 1000);
    // A person settled it as failed before Efí's (late) notification of its success arrived.
    await completePayout(ctx(), payoutId, { status: "failed", reason: "manual" });
    await notifyAndProcess(e2eId);
    const [event] = await webhookEvents(e2eId);
    expect(event?.status).toBe("flagged");
    expect(event?.detail).toContain("already failed");
    expect(await postings(`payout:${payoutId}:paid`)).toBe(0);
    await expectLedgerConsistent();
  });
});

describe("payments queue: messages", () => {
  it("a malformed message is kept in dead_letters and acked; the DLQ consumer keeps what exhausted its retries", async () => {
    const { messages, result } = await deliverToQueue(QUEUES.payments, [
      { type: "efi.webhook_item", event_id: "nope" },
    ]);
    expect(result.explicitAcks).toEqual([messages[0]?.id]);
    const kept = await env.DB.prepare("SELECT queue, attempts FROM dead_letters WHERE message_id = ?")
      .bind(messages[0]?.id)
      .first();
    expect(kept).toEqual({ queue: "payments", attempts: 1 });

    const dead = await deliverToQueue(
      QUEUES.paymentsDeadLetter,
      [{ type: "efi.webhook_item", event_id: newId("whk"), kind: "pix_received" }],
      9,
    );
    expect(dead.result.explicitAcks).toHaveLength(1);
    const row = await env.DB.prepare("SELECT queue, body, attempts FROM dead_letters WHERE message_id = ?")
      .bind(dead.messages[0]?.id)
      .first<{ queue: string; body: string; attempts: number }>();
    expect(row?.queue).toBe("payments-dlq");
    expect(row?.attempts).toBe(9);
    expect(JSON.parse(row?.body ?? "{}")).toMatchObject({ kind: "pix_received" });
  });

  it("a message for an item that is gone or already settled is acked and does nothing", async () => {
    const { result } = await processItems([{ id: newId("whk"), kind: "pix_received" }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
  });

  it("if queueing fails, the stored items are removed again so Efí's retry stores and queues them", async () => {
    const e2eId = fakeE2eId();
    const body = JSON.stringify({ pix: [receivedItem({ e2eId, txid: `pay${"R".repeat(26)}a1` })] });
    const broken = {
      async sendBatch() {
        throw new Error("queue unavailable");
      },
    } as unknown as Queue;
    await expect(
      ingestEfiNotification(ctx({ env: { ...env, PAYMENTS_QUEUE: broken } }), body),
    ).rejects.toThrow("queue unavailable");
    expect(await webhookEvents(e2eId)).toEqual([]);
    const retried = await ingest(body);
    expect(retried.result).toEqual({ items: 1, stored: 1 });
    expect(retried.messages).toHaveLength(1);
  });
});
