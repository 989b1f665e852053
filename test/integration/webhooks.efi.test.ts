import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { createServiceContext } from "../../src/composition";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { sandboxControl } from "../efi-network";
import {
  fakeE2eId,
  lastNotificationBody,
  postings,
  postWebhook,
  receivedItem,
  registerWebhook,
  webhookEventCount,
  webhookEvents,
  withLostWebhooks,
} from "../efi-webhook-helpers";
import { BASE, call, createStaff, expectProblem, readReply, registerUser, type TestUser } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { ridePaymentRow } from "../payment-helpers";
import {
  bearer,
  completeAtDropoff,
  onlineDriver,
  openSocket,
  postRide,
  requestedRide,
  type TestSocket,
} from "../ride-helpers";

// The Efí webhook over HTTP, end to end: a Pix ride is completed through the API (its payment
// and charge are created then), the charge is paid at the in-process sandbox, whose webhook
// reaches our route through the Worker's own fetch; the real payments queue runs the consumer.

/** pop: max(500 + 150×3 + 30×10, 800) + 100 booking fee; commission 20 % (min R$ 1,00). */
// The quote of pop from Sé to Paulista, which a normal trip is charged: 2,560 m × 1.3 = 3,328 m
// in 479 s at 25 km/h; 500 + 150 × 3.328 + 30 × 479 / 60 = 1238.7 → 1239, + 100 = 1339; 20 % = 268.
const FARE = 1339;
const COMMISSION = 268;

beforeAll(async () => {
  await registerWebhook();
});

interface PixRide {
  passenger: TestUser;
  driver: TestUser;
  rideId: string;
  txid: string;
  paymentId: string;
  channel: TestSocket;
  driverChannel: TestSocket;
}

/** A Pix ride completed through the API, with its pending payment and both users' channels open. */
async function completedPixRide(): Promise<PixRide> {
  const { passenger, ride } = await requestedRide({ payment_method: "pix" });
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));
  const driverChannel = await openSocket("/v1/ws", bearer(driver.accessToken));
  const done = await completeAtDropoff(driver, ride.id, { distance_m: 3000, duration_s: 600 });
  expect(done.status, done.text).toBe(200);
  expect(done.json.final_fare_cents).toBe(FARE);
  const payment = await vi.waitFor(async () => {
    const row = await ridePaymentRow(ride.id);
    if (!row?.txid) throw new Error("no charge yet");
    return row;
  });
  expect(payment).toMatchObject({ status: "pending", amount_cents: FARE });
  return {
    passenger,
    driver,
    rideId: ride.id,
    txid: payment.txid,
    paymentId: payment.id,
    channel,
    driverChannel,
  };
}

/** Pays the charge at the sandbox (another amount when `valor` is given); Efí's webhook follows. */
async function payAtEfi(txid: string, valor?: string): Promise<string> {
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`, valor ? { valor } : {});
  expect(paid.status, paid.text).toBe(200);
  return paid.json.e2eId as string;
}

/** Waits until the payments consumer has settled the item (processed or flagged). */
async function settledEvents(e2eId: string) {
  return vi.waitFor(
    async () => {
      const rows = await webhookEvents(e2eId);
      if (rows.length === 0 || rows.some((r) => r.status === "received")) throw new Error("not settled yet");
      return rows;
    },
    { timeout: 8000, interval: 50 },
  );
}

const driverPending = (driverId: string) =>
  balanceOf(createServiceContext(env), driverAccount(driverId, "pending"));

describe("a Pix ride paid at Efí", () => {
  it("is stored once, confirmed against Efí, credited once, and the passenger is told", async () => {
    const ride = await completedPixRide();
    const clearingBefore = await balanceOf(createServiceContext(env), platformAccount("efi_clearing"));
    const e2eId = await payAtEfi(ride.txid);

    // Delivered inline by the sandbox: stored once by the time the payment call returned.
    const stored = await webhookEvents(e2eId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: "pix_received", sub_id: "" });
    expect(JSON.parse(stored[0]?.payload ?? "{}").item).toMatchObject({
      kind: "pix_received",
      txid: ride.txid,
      amount_cents: FARE,
    });

    const [event] = await settledEvents(e2eId);
    expect(event).toMatchObject({ status: "processed", detail: null });
    const payment = await ridePaymentRow(ride.rideId);
    expect(payment).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    expect(payment?.paid_at).toBeTruthy();
    expect(payment?.ledger_transaction_id).toMatch(/^txn_/);
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
    expect(await driverPending(ride.driver.id)).toBe(FARE - COMMISSION);
    expect(await balanceOf(createServiceContext(env), platformAccount("efi_clearing"))).toBe(
      clearingBefore + FARE,
    );

    const confirmed = await ride.channel.next((m) => m.type === "payment.confirmed");
    expect(confirmed).toMatchObject({
      ride_id: ride.rideId,
      data: { id: ride.paymentId, status: "paid", amount_cents: FARE, ride_id: ride.rideId },
    });
    const wallet = await ride.driverChannel.next((m) => m.type === "wallet.updated");
    expect(wallet.data).toMatchObject({ pending_cents: FARE - COMMISSION });

    // The payment as the passenger reads it.
    const read = await call("GET", `/v1/rides/${ride.rideId}/payment`, { token: ride.passenger.accessToken });
    expect(read.status, read.text).toBe(200);
    expect(read.json).toMatchObject({ status: "paid", pix: { end_to_end_id: e2eId } });

    // Efí's resend of the same notification: answered 200, nothing more.
    const resend = await sandboxControl("POST", "/sandbox/webhooks/resend", { e2eids: [e2eId] });
    expect(resend.status, resend.text).toBe(202);
    expect(await webhookEvents(e2eId)).toEqual([event]);
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
    expect(await driverPending(ride.driver.id)).toBe(FARE - COMMISSION);
    await expectLedgerConsistent();
  });

  it("the same webhook delivered 20 times at once stores one item and posts once", async () => {
    const ride = await completedPixRide();
    // Efí's first delivery is lost; then the same notification arrives 20 times concurrently.
    const e2eId = await withLostWebhooks(() => payAtEfi(ride.txid));
    expect(await webhookEvents(e2eId)).toEqual([]);
    const body = await lastNotificationBody(e2eId);

    const replies = await Promise.all(Array.from({ length: 20 }, () => postWebhook(body)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.filter((r) => r.json.stored === 1)).toHaveLength(1);
    expect(replies.filter((r) => r.json.stored === 0)).toHaveLength(19);
    expect(replies.every((r) => r.json.received === 1)).toBe(true);

    const rows = await settledEvents(e2eId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("processed");
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
    expect(await driverPending(ride.driver.id)).toBe(FARE - COMMISSION);
    expect(await ridePaymentRow(ride.rideId)).toMatchObject({ status: "paid", end_to_end_id: e2eId });
    const confirmations = () => ride.channel.messages.filter((m) => m.type === "payment.confirmed");
    await vi.waitFor(() => expect(confirmations()).toHaveLength(1));
    await expectLedgerConsistent();
  });

  it("a Pix whose amount differs from its charge credits nothing and is flagged", async () => {
    const ride = await completedPixRide();
    const e2eId = await payAtEfi(ride.txid, "10.00");
    const [event] = await settledEvents(e2eId);
    expect(event?.status).toBe("flagged");
    expect(event?.detail).toContain("amount mismatch");
    expect(await ridePaymentRow(ride.rideId)).toMatchObject({ status: "pending", end_to_end_id: null });
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(0);
    expect(await driverPending(ride.driver.id)).toBe(0);
    expect(ride.channel.messages.filter((m) => m.type === "payment.confirmed")).toEqual([]);
    await expectLedgerConsistent();
  });

  it("a notification for a txid we never issued is flagged and credits nothing", async () => {
    const e2eId = fakeE2eId();
    const reply = await postWebhook({
      pix: [receivedItem({ e2eId, txid: "payZZZZZZZZZZZZZZZZZZZZZZZZZZa1" })],
    });
    expect(reply.status, reply.text).toBe(200);
    const [event] = await settledEvents(e2eId);
    expect(event).toMatchObject({ status: "flagged" });
    expect(event?.detail).toContain("unknown txid");
    await expectLedgerConsistent();
  });

  it("a notification Efí cannot confirm (a made-up Pix on a real charge) credits nothing", async () => {
    const ride = await completedPixRide();
    const e2eId = fakeE2eId();
    const reply = await postWebhook({ pix: [receivedItem({ e2eId, txid: ride.txid, valor: "13.50" })] });
    expect(reply.status, reply.text).toBe(200);
    expect(await webhookEvents(e2eId)).toHaveLength(1);
    // The consumer finds no such Pix on the charge and retries later (Efí may lag): no money.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await ridePaymentRow(ride.rideId)).toMatchObject({ status: "pending" });
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(0);
    await expectLedgerConsistent();
  });
});

describe("POST /webhooks/efi/pix: who may call it", () => {
  it.each([
    ["a forged hmac", "not-the-secret-0123456789abcdef"],
    ["the secret with one character changed", `${env.EFI_WEBHOOK_HMAC_SECRET.slice(0, -1)}X`],
    ["an empty hmac", ""],
    ["no hmac at all", undefined],
  ])("%s gets 401 and stores nothing", async (_name, hmac) => {
    const ride = await completedPixRide();
    const e2eId = await withLostWebhooks(() => payAtEfi(ride.txid));
    const body = await lastNotificationBody(e2eId);
    const before = await webhookEventCount();
    const reply = await postWebhook(body, { hmac });
    expectProblem(reply, 401, "webhook_unauthorized");
    expect(reply.text).not.toContain(env.EFI_WEBHOOK_HMAC_SECRET);
    expect(await webhookEventCount()).toBe(before);
    expect(await webhookEvents(e2eId)).toEqual([]);
    expect(await ridePaymentRow(ride.rideId)).toMatchObject({ status: "pending" });
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(0);
  });

  describe("with a sender allowlist", () => {
    const EFI_IP = "34.193.116.226";
    const app = createApp();
    const allowlisted = { ...env, EFI_WEBHOOK_ALLOWED_IPS: ` ${EFI_IP} , 10.9.8.7` };

    async function send(ip: string | null, hmac = env.EFI_WEBHOOK_HMAC_SECRET) {
      const e2eId = fakeE2eId();
      const executionCtx = createExecutionContext();
      const response = await app.fetch(
        new Request(`${BASE}/webhooks/efi/pix?hmac=${encodeURIComponent(hmac)}&ignorar=/pix`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(ip ? { "cf-connecting-ip": ip } : {}) },
          body: JSON.stringify({ pix: [receivedItem({ e2eId, txid: "payYYYYYYYYYYYYYYYYYYYYYYYYYYa1" })] }),
        }),
        allowlisted,
        executionCtx,
      );
      await waitOnExecutionContext(executionCtx);
      return { e2eId, reply: await readReply(response) };
    }

    it.each([
      ["another address", "203.0.113.9"],
      ["no address", null],
    ])("%s gets 403 and stores nothing, even with the right hmac", async (_name, ip) => {
      const { e2eId, reply } = await send(ip);
      expectProblem(reply, 403, "webhook_forbidden");
      expect(await webhookEvents(e2eId)).toEqual([]);
    });

    it("Efí's address with the right hmac is accepted; with a wrong one it is 401", async () => {
      const ok = await send(EFI_IP);
      expect(ok.reply.status, ok.reply.text).toBe(200);
      expect(await webhookEvents(ok.e2eId)).toHaveLength(1);
      const forged = await send(EFI_IP, "wrong-secret-0123456789abcdef");
      expectProblem(forged.reply, 401, "webhook_unauthorized");
      expect(await webhookEvents(forged.e2eId)).toEqual([]);
    });
  });
});

describe("POST /webhooks/efi/pix: what it accepts", () => {
  const good = () => receivedItem({ txid: "payXXXXXXXXXXXXXXXXXXXXXXXXXXa1" });

  it.each([
    ["not JSON", "{pix: nope"],
    ["an empty body", ""],
    ["JSON that is not an object", "[1,2]"],
    ["no pix array", JSON.stringify({ items: [] })],
    ["an empty pix array", JSON.stringify({ pix: [] })],
    ["pix that is not an array", JSON.stringify({ pix: { endToEndId: "x" } })],
    ["an amount with a comma", JSON.stringify({ pix: [{ ...good(), valor: "13,50" }] })],
    ["an amount as a number", JSON.stringify({ pix: [{ ...good(), valor: 13.5 }] })],
    ["no end-to-end id", JSON.stringify({ pix: [{ ...good(), endToEndId: undefined }] })],
    ["a bad date", JSON.stringify({ pix: [{ ...good(), horario: "yesterday" }] })],
    [
      "a send result without a status",
      JSON.stringify({ pix: [{ ...good(), gnExtras: { idEnvio: "abc" } }] }),
    ],
    [
      "a refund with an unknown status",
      JSON.stringify({
        pix: [
          {
            ...good(),
            devolucoes: [
              {
                id: "d1",
                rtrId: "D1",
                valor: "1.00",
                horario: { solicitacao: new Date().toISOString() },
                status: "SIM",
              },
            ],
          },
        ],
      }),
    ],
    ["one good item and one bad", JSON.stringify({ pix: [good(), { ...good(), valor: "abc" }] })],
  ])("%s is 400 webhook_malformed and stores nothing", async (_name, body) => {
    const before = await webhookEventCount();
    const reply = await postWebhook(body);
    expectProblem(reply, 400, "webhook_malformed");
    expect(await webhookEventCount()).toBe(before);
  });

  it("names the bad field of the bad item", async () => {
    const reply = await postWebhook({ pix: [good(), { ...good(), valor: "13,50" }] });
    expectProblem(reply, 400, "webhook_malformed");
    expect(reply.json.errors).toEqual([{ path: "pix.1.valor", message: expect.any(String) }]);
  });

  it("a body over 64 KiB is 413 and stores nothing", async () => {
    const before = await webhookEventCount();
    const reply = await postWebhook({ pix: [{ ...good(), infoPagador: "x".repeat(70 * 1024) }] });
    expectProblem(reply, 413, "payload_too_large");
    expect(await webhookEventCount()).toBe(before);
  });

  it("Efí's registration probe is answered 200 and stores nothing", async () => {
    const before = await webhookEventCount();
    const reply = await postWebhook({ evento: "teste_webhook", data_criacao: new Date().toISOString() });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({ received: 0, stored: 0 });
    expect(await webhookEventCount()).toBe(before);
  });

  it("accepts /webhooks/efi too (a URL registered without the /pix path)", async () => {
    const e2eId = fakeE2eId();
    const reply = await postWebhook(
      { pix: [receivedItem({ e2eId, txid: "payWWWWWWWWWWWWWWWWWWWWWWWWWWa1" })] },
      {
        path: "/webhooks/efi",
      },
    );
    expect(reply.status, reply.text).toBe(200);
    expect(await webhookEvents(e2eId)).toHaveLength(1);
  });

  it("is not behind the /v1 JSON guard, and carries the security headers and a request id", async () => {
    const e2eId = fakeE2eId();
    const reply = await postWebhook(
      { pix: [receivedItem({ e2eId, txid: "payVVVVVVVVVVVVVVVVVVVVVVVVVVa1" })] },
      {
        headers: { "content-type": "text/plain" },
      },
    );
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    expect(reply.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(reply.headers.get("x-request-id")).toBeTruthy();
    const get = await call("GET", "/webhooks/efi/pix");
    expectProblem(get, 405, "method_not_allowed");
  });

  it("stores every kind of item once: a received Pix, its refunds, a send result and money back on it", async () => {
    const received = fakeE2eId();
    const sent = fakeE2eId();
    const at = new Date().toISOString();
    const refund = (id: string, status: string) => ({
      id,
      rtrId: `D${id}`,
      valor: "1.00",
      horario: { solicitacao: at },
      status,
    });
    const body = {
      pix: [
        {
          ...receivedItem({ e2eId: received, txid: "payUUUUUUUUUUUUUUUUUUUUUUUUUUa1" }),
          gnExtras: {
            tarifa: "0.01",
            pagador: { nome: "Fulano", cpf: "***.456.789-**", codigoBanco: "00000000" },
          },
          devolucoes: [
            refund("rfdA1", "DEVOLVIDO"),
            { ...refund("rfdA2", "NAO_REALIZADO"), motivo: "Saldo insuficiente" },
            refund("rfdA3", "EM_PROCESSAMENTO"),
          ],
        },
        {
          endToEndId: sent,
          chave: env.EFI_PIX_KEY,
          tipo: "SOLICITACAO",
          status: "NAO_REALIZADO",
          valor: "15.00",
          horario: null,
          gnExtras: {
            idEnvio: "pout01JD8Y3M0S3Q4VQK6E9Q1T2B5C",
            erro: { codigo: "AC03", origem: "PSP", motivo: "Conta inexistente" },
          },
          devolucoes: [refund("D2abc", "DEVOLVIDO")],
        },
      ],
    };
    const first = await postWebhook(body);
    expect(first.status, first.text).toBe(200);
    // Not-final refunds are not stored: their final outcome will come in its own notification.
    expect(first.json).toEqual({ received: 5, stored: 5 });
    const kinds = async (e2e: string) => (await webhookEvents(e2e)).map((r) => `${r.kind}:${r.sub_id}`);
    expect(await kinds(received)).toEqual(["pix_received:", "refund:rfdA1", "refund:rfdA2"]);
    expect(await kinds(sent)).toEqual(["pix_sent:", "refund:D2abc"]);
    const sentRow = (await webhookEvents(sent)).find((r) => r.kind === "pix_sent");
    expect(JSON.parse(sentRow?.payload ?? "{}").item).toEqual({
      kind: "pix_sent",
      e2e_id: sent,
      id_envio: "pout01JD8Y3M0S3Q4VQK6E9Q1T2B5C",
      status: "NAO_REALIZADO",
      amount_cents: 1500,
      error: { code: "AC03", reason: "Conta inexistente" },
    });

    const receivedRow = (await webhookEvents(received)).find((r) => r.kind === "pix_received");
    expect(JSON.parse(receivedRow?.payload ?? "{}").efi.gnExtras).toEqual({ tarifa: "0.01" });
    expect(receivedRow?.payload).not.toContain("Fulano");

    const again = await postWebhook(body);
    expect(again.json).toEqual({ received: 5, stored: 0 });
    expect(await kinds(received)).toHaveLength(3);
  });
});

describe("GET /v1/admin/payments/flagged", () => {
  it("lists flagged items, newest first, for staff with payments:refund only", async () => {
    const e2eId = fakeE2eId();
    await postWebhook({ pix: [receivedItem({ e2eId, txid: "payTTTTTTTTTTTTTTTTTTTTTTTTTTa1" })] });
    await settledEvents(e2eId);

    const finance = await createStaff("finance");
    const reply = await call("GET", "/v1/admin/payments/flagged?limit=100", { token: finance.accessToken });
    expect(reply.status, reply.text).toBe(200);
    const mine = reply.json.items.find((i: { end_to_end_id: string }) => i.end_to_end_id === e2eId);
    expect(mine).toMatchObject({
      kind: "pix_received",
      refund_id: null,
      item: { txid: "payTTTTTTTTTTTTTTTTTTTTTTTTTTa1", amount_cents: 1350 },
    });
    expect(mine.detail).toContain("unknown txid");
    const ids = reply.json.items.map((i: { id: string }) => i.id);
    expect(ids).toEqual([...ids].sort().reverse());

    const passenger = await registerUser("passenger");
    expectProblem(
      await call("GET", "/v1/admin/payments/flagged", { token: passenger.accessToken }),
      403,
      "forbidden",
    );
    expectProblem(await call("GET", "/v1/admin/payments/flagged"), 401, "authentication_required");
  });
});
