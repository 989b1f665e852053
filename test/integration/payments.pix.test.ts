import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { CRONS, handleScheduled } from "../../src/cron";
import { txidOf } from "../../src/integrations/efi";
import { expireStaleCharges } from "../../src/services/payments/expiry";
import { getRidePayment } from "../../src/services/payments/read";
import { startRidePayment } from "../../src/services/payments/start";
import { paymentIdOfTxid } from "../../src/services/payments/txid";
import { getRide } from "../../src/services/rides/queries";
import { call, expectProblem, registerUser, type TestUser } from "../helpers";
import {
  breakChargeCreation,
  efiCob,
  gateChargeCreation,
  paymentRowById,
  ridePaymentRow,
  sandboxCobCount,
  settle,
} from "../payment-helpers";
import {
  bearer,
  completeAtDropoff,
  onlineDriver,
  openSocket,
  postRide,
  requestedRide,
  type TestSocket,
} from "../ride-helpers";

const TTL_MS = Number(env.PIX_CHARGE_TTL_SECONDS) * 1000;

/** A ride walked to in-progress, with the passenger's user channel (/v1/ws) open. */
async function rideInProgress(paymentMethod: "pix" | "cash" = "pix") {
  const { passenger, ride } = await requestedRide({ payment_method: paymentMethod });
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, ride.id, step);
    expect(reply.status, reply.text).toBe(200);
  }
  const channel = await openSocket("/v1/ws", bearer(passenger.accessToken));
  return { passenger, driver, rideId: ride.id, channel };
}

// The quote of pop from Sé to Paulista, which a normal trip is charged: 2,560 m × 1.3 = 3,328 m
// in 479 s at 25 km/h.
const FARE = 1339;

async function complete(driver: TestUser, rideId: string) {
  const reply = await completeAtDropoff(driver, rideId, { distance_m: 3000, duration_s: 600 });
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json).toMatchObject({ status: "completed", final_fare_cents: FARE });
  return reply;
}

/** A completed Pix ride with its charge, and the passenger's open channel. */
async function completedPixRide() {
  const setup = await rideInProgress("pix");
  await complete(setup.driver, setup.rideId);
  return setup;
}

const qrEvents = (socket: TestSocket, rideId: string) =>
  socket.messages.filter((m) => m.type === "payment.qr_generated" && m.data?.ride_id === rideId);

const paymentOf = (user: TestUser, rideId: string) =>
  call("GET", `/v1/rides/${rideId}/payment`, { token: user.accessToken });

const regenerate = (user: TestUser, rideId: string) =>
  call("POST", `/v1/rides/${rideId}/payment/regenerate`, { token: user.accessToken });

/** Runs the expiry cron through the Worker's scheduled handler, as if it fired at `at`. */
async function runExpiryCron(at: number) {
  const controller = createScheduledController({ scheduledTime: at, cron: CRONS.paymentExpiry });
  const executionCtx = createExecutionContext();
  await handleScheduled(controller, env, executionCtx);
  await waitOnExecutionContext(executionCtx);
}

describe("a Pix ride's payment at completion", () => {
  it("creates a pending payment and its Efí charge, and sends the passenger the QR code", async () => {
    const { passenger, driver, rideId, channel } = await rideInProgress();
    const rideSocket = await openSocket(`/v1/rides/${rideId}/ws`, bearer(passenger.accessToken));
    await complete(driver, rideId);

    const row = await ridePaymentRow(rideId);
    expect(row).toMatchObject({
      purpose: "ride",
      payer_id: passenger.id,
      method: "pix",
      status: "pending",
      amount_cents: FARE,
      refunded_cents: 0,
      attempt: 1,
    });
    const paymentId = String(row?.id);
    expect(row?.txid).toBe(txidOf(paymentId, 1));
    expect(paymentIdOfTxid(String(row?.txid))).toBe(paymentId);
    expect(row?.loc_id).toEqual(expect.any(Number));
    expect(String(row?.copia_e_cola)).toMatch(/^000201/);
    expect(String(row?.qr_code_png)).toMatch(/^data:image\/png;base64,/);
    // Efí's clock plus the TTL: within a minute of ours plus the TTL.
    expect(Math.abs(Date.parse(String(row?.expires_at)) - (Date.now() + TTL_MS))).toBeLessThan(60_000);

    // Efí holds the charge, in its own wire format.
    const cob = await efiCob(String(row?.txid));
    expect(cob.status).toBe(200);
    expect(cob.json).toMatchObject({
      txid: row?.txid,
      status: "ATIVA",
      valor: { original: "13.39" },
      chave: env.EFI_PIX_KEY,
      calendario: { expiracao: Number(env.PIX_CHARGE_TTL_SECONDS) },
      pixCopiaECola: row?.copia_e_cola,
    });

    // The passenger's channel and the ride's socket both get the QR.
    const event = await channel.next((m) => m.type === "payment.qr_generated");
    expect(event).toMatchObject({
      ride_id: rideId,
      seq: expect.any(Number),
      data: {
        payment_id: paymentId,
        ride_id: rideId,
        amount_cents: FARE,
        txid: row?.txid,
        copia_e_cola: row?.copia_e_cola,
        qr_code_png: row?.qr_code_png,
        expires_at: row?.expires_at,
      },
    });
    expect(event.data.copia_e_cola).toMatch(/^000201/);
    expect(event.data.qr_code_png).toMatch(/^data:image\/png;base64,/);
    const relayed = await rideSocket.next((m) => m.type === "payment.qr_generated");
    expect(relayed.data.txid).toBe(row?.txid);
    expect(relayed.seq).toBe(0);
  });

  it("shows the payment to the ride's passenger and driver, and to nobody else", async () => {
    const { passenger, driver, rideId } = await completedPixRide();
    const row = await ridePaymentRow(rideId);
    for (const user of [passenger, driver]) {
      const reply = await paymentOf(user, rideId);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toEqual({
        id: row?.id,
        purpose: "ride",
        status: "pending",
        method: "pix",
        amount_cents: FARE,
        refunded_cents: 0,
        ride_id: rideId,
        payer_id: passenger.id,
        pix: {
          txid: row?.txid,
          end_to_end_id: null,
          copia_e_cola: row?.copia_e_cola,
          qr_code_png: row?.qr_code_png,
          expires_at: row?.expires_at,
          attempt: 1,
        },
        created_at: row?.created_at,
        updated_at: row?.updated_at,
        paid_at: null,
      });
      const byId = await call("GET", `/v1/payments/${row?.id}`, { token: user.accessToken });
      expect(byId.status, byId.text).toBe(200);
      expect(byId.json).toEqual(reply.json);
    }
    const stranger = await registerUser("passenger");
    const otherDriver = await registerUser("driver");
    for (const user of [stranger, otherDriver]) {
      expectProblem(await paymentOf(user, rideId), 404, "not_found");
      expectProblem(await regenerate(user, rideId), 404, "not_found");
      expectProblem(
        await call("GET", `/v1/payments/${row?.id}`, { token: user.accessToken }),
        404,
        "payment_not_found",
      );
    }
    expectProblem(await paymentOf(passenger, "ride_01JD8Y3M0S3Q4VQK6E9Q1T2B5C"), 404, "not_found");
    expectProblem(await call("GET", `/v1/rides/${rideId}/payment`), 401, "authentication_required");
  });

  it("starting the payment again finds the first one: one row, one charge, one event", async () => {
    const { passenger, rideId, channel } = await completedPixRide();
    const first = await ridePaymentRow(rideId);
    await channel.next((m) => m.type === "payment.qr_generated");
    const ctx = createServiceContext(env);
    const ride = await getRide(ctx, { id: passenger.id, role: "passenger", sessionId: "test" }, rideId);
    if (!("passenger_id" in ride)) throw new Error("the passenger got the offer view");
    await startRidePayment(ctx, ride);
    await startRidePayment(ctx, ride);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM payments WHERE ride_id = ?")
      .bind(rideId)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
    expect(await ridePaymentRow(rideId)).toEqual(first);
    expect(await sandboxCobCount(txidOf(String(first?.id), 1))).toBe(1);
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(1);
  });

  it("a cash ride has no payment to make", async () => {
    const { passenger, driver, rideId, channel } = await rideInProgress("cash");
    await complete(driver, rideId);
    expect(await ridePaymentRow(rideId)).toBeNull();
    expectProblem(await paymentOf(passenger, rideId), 404, "payment_not_found");
    expectProblem(await paymentOf(driver, rideId), 404, "payment_not_found");
    expect(await ridePaymentRow(rideId)).toBeNull();
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(0);
  });

  it("a ride not yet completed has no payment, and reading it creates none", async () => {
    const { passenger, rideId } = await rideInProgress("pix");
    expectProblem(await paymentOf(passenger, rideId), 404, "payment_not_found");
    expectProblem(await regenerate(passenger, rideId), 404, "payment_not_found");
    expect(await ridePaymentRow(rideId)).toBeNull();
  });
});

describe("when Efí fails at completion", () => {
  it("the ride still completes; reading the payment creates the charge (same txid) and sends the QR", async () => {
    const { passenger, driver, rideId, channel } = await rideInProgress();
    const mend = breakChargeCreation("down");
    try {
      await complete(driver, rideId);
      const row = await ridePaymentRow(rideId);
      expect(row).toMatchObject({ status: "pending", attempt: 1, txid: null, copia_e_cola: null });
      expect(await sandboxCobCount(txidOf(String(row?.id), 1))).toBe(0);

      // Still down: the read answers with what there is, and tries again next time.
      const stillDown = await paymentOf(passenger, rideId);
      expect(stillDown.status, stillDown.text).toBe(200);
      expect(stillDown.json).toMatchObject({ status: "pending", pix: { txid: null, copia_e_cola: null } });
      // Regenerating while Efí is down is a 503 the client may retry.
      const refused = await regenerate(passenger, rideId);
      expectProblem(refused, 503, "payment_provider_unavailable");
      expect(refused.headers.get("retry-after")).toBe("5");
    } finally {
      mend();
    }
    const ride = await call("GET", `/v1/rides/${rideId}`, { token: passenger.accessToken });
    expect(ride.json.status).toBe("completed");
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(0);

    const healed = await paymentOf(passenger, rideId);
    expect(healed.status, healed.text).toBe(200);
    const row = await ridePaymentRow(rideId);
    expect(healed.json).toMatchObject({
      id: row?.id,
      status: "pending",
      pix: { txid: txidOf(String(row?.id), 1), attempt: 1 },
    });
    expect(healed.json.pix.copia_e_cola).toMatch(/^000201/);
    expect((await efiCob(String(row?.txid))).json.valor.original).toBe("13.39");
    const event = await channel.next((m) => m.type === "payment.qr_generated");
    expect(event.data.txid).toBe(row?.txid);
  });

  it("a charge Efí created but whose reply was lost is found again, not created twice", async () => {
    const { passenger, driver, rideId, channel } = await rideInProgress();
    const mend = breakChargeCreation("reply-lost");
    try {
      await complete(driver, rideId);
    } finally {
      mend();
    }
    const before = await ridePaymentRow(rideId);
    const txid = txidOf(String(before?.id), 1);
    expect(before).toMatchObject({ status: "pending", txid: null });
    // Efí has it although we never heard back.
    expect(await sandboxCobCount(txid)).toBe(1);

    const healed = await paymentOf(driver, rideId);
    expect(healed.status, healed.text).toBe(200);
    expect(healed.json.pix).toMatchObject({ txid, attempt: 1 });
    expect(await sandboxCobCount(String(before?.id).replace("_", ""))).toBe(1);
    const event = await channel.next((m) => m.type === "payment.qr_generated");
    expect(event.data.txid).toBe(txid);
    // A second read changes nothing and says nothing.
    const again = await paymentOf(passenger, rideId);
    expect(again.json).toEqual(healed.json);
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(1);
  });
});

describe("expiry and regeneration", () => {
  it("reads a lapsed charge as expired; the cron marks it expired, in batches, once", async () => {
    const { passenger, rideId } = await completedPixRide();
    const row = await ridePaymentRow(rideId);
    const expiresAt = Date.parse(String(row?.expires_at));
    const later = new Date(expiresAt + 1000);

    // Before the cron: a read at a later clock already says expired, and writes nothing.
    const ctx = { ...createServiceContext(env), now: () => later };
    const view = await getRidePayment(ctx, { id: passenger.id, role: "passenger", sessionId: "t" }, rideId);
    expect(view.status).toBe("expired");
    expect((await ridePaymentRow(rideId))?.status).toBe("pending");

    // A cron run before the expiry leaves it alone.
    await runExpiryCron(expiresAt - 1000);
    expect((await ridePaymentRow(rideId))?.status).toBe("pending");

    // One at its expiry marks it expired.
    await runExpiryCron(expiresAt);
    const expired = await ridePaymentRow(rideId);
    expect(expired).toMatchObject({ status: "expired", txid: row?.txid, attempt: 1 });
    const reply = await paymentOf(passenger, rideId);
    expect(reply.json.status).toBe("expired");

    // Again: nothing to do, nothing changes.
    await runExpiryCron(expiresAt + 60_000);
    expect(await ridePaymentRow(rideId)).toEqual(expired);
    // Efí's record is untouched: an expired cob still reads ATIVA.
    expect((await efiCob(String(row?.txid))).json.status).toBe("ATIVA");
  });

  it("expires only pending charges that lapsed, batch by batch", async () => {
    const rides = [await completedPixRide(), await completedPixRide(), await completedPixRide()];
    const [paid, a, b] = await Promise.all(
      rides.map(async (r) => String((await ridePaymentRow(r.rideId))?.id)),
    );
    const ids = [paid, a, b] as [string, string, string];
    // One of them was paid meanwhile: never expired.
    await env.DB.prepare("UPDATE payments SET status = 'paid' WHERE id = ?").bind(ids[0]).run();
    const latest = Math.max(
      ...(await Promise.all(
        ids.map(async (id) => Date.parse(String((await paymentRowById(id))?.expires_at))),
      )),
    );
    const ctx = createServiceContext(env);
    const report = await expireStaleCharges(ctx, { now: new Date(latest), batchSize: 1, maxBatches: 100 });
    expect(report.more).toBe(false);
    expect(report.expired).toBeGreaterThanOrEqual(2); // earlier tests' pending charges too
    expect(report.batches).toBe(report.expired + 1);
    expect((await paymentRowById(ids[0]))?.status).toBe("paid");
    expect((await paymentRowById(ids[1]))?.status).toBe("expired");
    expect((await paymentRowById(ids[2]))?.status).toBe("expired");
    const bounded = await expireStaleCharges(ctx, { now: new Date(latest), batchSize: 1, maxBatches: 1 });
    expect(bounded).toEqual({ expired: 0, batches: 1, more: false });
  });

  it("regenerates an expired charge: attempt 2, a new txid, a new QR, pending, a second event", async () => {
    const { passenger, driver, rideId, channel } = await completedPixRide();
    const first = await ridePaymentRow(rideId);
    const firstEvent = await channel.next((m) => m.type === "payment.qr_generated");
    expect(firstEvent.data.txid).toBe(first?.txid);

    // Not expired yet: the live charge is the answer, nothing new.
    const live = await regenerate(passenger, rideId);
    expect(live.status, live.text).toBe(200);
    expect(live.json.pix).toMatchObject({ txid: first?.txid, attempt: 1 });

    await runExpiryCron(Date.parse(String(first?.expires_at)));
    expect((await ridePaymentRow(rideId))?.status).toBe("expired");

    const reply = await regenerate(driver, rideId);
    expect(reply.status, reply.text).toBe(200);
    const newTxid = txidOf(String(first?.id), 2);
    expect(reply.json).toMatchObject({
      id: first?.id,
      status: "pending",
      amount_cents: FARE,
      pix: { txid: newTxid, attempt: 2, end_to_end_id: null },
    });
    expect(reply.json.pix.copia_e_cola).toMatch(/^000201/);
    expect(reply.json.pix.copia_e_cola).not.toBe(first?.copia_e_cola);
    expect(reply.json.pix.qr_code_png).not.toBe(first?.qr_code_png);
    expect(Date.parse(reply.json.pix.expires_at)).toBeGreaterThan(Date.now());
    expect(await ridePaymentRow(rideId)).toMatchObject({ status: "pending", attempt: 2, txid: newTxid });
    expect((await efiCob(newTxid)).json).toMatchObject({ status: "ATIVA", valor: { original: "13.39" } });
    expect(paymentIdOfTxid(newTxid)).toBe(first?.id);

    const second = await channel.next((m) => m.type === "payment.qr_generated" && m.data.txid === newTxid);
    expect(second.data).toMatchObject({ payment_id: first?.id, attempt: 2, amount_cents: FARE });
    expect(qrEvents(channel, rideId)).toHaveLength(2);

    // Regenerating the fresh one again changes nothing.
    const again = await regenerate(passenger, rideId);
    expect(again.json.pix).toMatchObject({ txid: newTxid, attempt: 2 });
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(2);
  });

  it("a pending charge past its expiry can be regenerated before the cron runs", async () => {
    const { passenger, rideId } = await completedPixRide();
    const first = await ridePaymentRow(rideId);
    // Make the stored expiry lapse (the app's clock is the real one).
    const past = new Date(Date.now() - 1000).toISOString();
    await env.DB.prepare("UPDATE payments SET expires_at = ? WHERE id = ?").bind(past, first?.id).run();
    expect((await paymentOf(passenger, rideId)).json.status).toBe("expired");
    const reply = await regenerate(passenger, rideId);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: "pending",
      pix: { attempt: 2, txid: txidOf(String(first?.id), 2) },
    });
  });

  it("two regenerations at once make one new charge and one event", async () => {
    const { passenger, driver, rideId, channel } = await completedPixRide();
    const first = await ridePaymentRow(rideId);
    await channel.next((m) => m.type === "payment.qr_generated");
    await runExpiryCron(Date.parse(String(first?.expires_at)));

    const newTxid = txidOf(String(first?.id), 2);
    // All three read the expired payment and meet at Efí with the same new txid.
    const gate = gateChargeCreation(newTxid, 3);
    let replies: Awaited<ReturnType<typeof regenerate>>[];
    try {
      replies = await Promise.all([
        regenerate(passenger, rideId),
        regenerate(driver, rideId),
        regenerate(passenger, rideId),
      ]);
    } finally {
      gate.mend();
    }
    expect(gate.arrived()).toBe(3);
    for (const reply of replies) {
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toMatchObject({ status: "pending", pix: { txid: newTxid, attempt: 2 } });
    }
    expect(new Set(replies.map((r) => r.json.pix.copia_e_cola)).size).toBe(1);
    expect(await ridePaymentRow(rideId)).toMatchObject({ attempt: 2, txid: newTxid, status: "pending" });
    const prefix = String(first?.id).replace("_", "");
    expect(await sandboxCobCount(prefix)).toBe(2); // attempt 1 and attempt 2, nothing else
    expect(await sandboxCobCount(txidOf(String(first?.id), 3))).toBe(0);
    await channel.next((m) => m.type === "payment.qr_generated" && m.data.txid === newTxid);
    await settle();
    expect(qrEvents(channel, rideId)).toHaveLength(2);
  });

  it("a paid payment cannot be regenerated", async () => {
    const { passenger, rideId } = await completedPixRide();
    const row = await ridePaymentRow(rideId);
    // As the webhook consumer records a confirmed Pix.
    await env.DB.prepare("UPDATE payments SET status = 'paid', end_to_end_id = ?, paid_at = ? WHERE id = ?")
      .bind(`E${"0".repeat(31)}`, new Date().toISOString(), row?.id)
      .run();
    expectProblem(await regenerate(passenger, rideId), 409, "payment_not_pending");
    const reply = await paymentOf(passenger, rideId);
    expect(reply.json).toMatchObject({ status: "paid", pix: { end_to_end_id: `E${"0".repeat(31)}` } });
    // The cron never touches it either.
    await runExpiryCron(Date.parse(String(row?.expires_at)) + 1000);
    expect((await ridePaymentRow(rideId))?.status).toBe("paid");
  });

  it("a card payment has no Pix charge to regenerate", async () => {
    const { passenger, rideId } = await completedPixRide();
    const row = await ridePaymentRow(rideId);
    await env.DB.prepare(
      "UPDATE payments SET method = 'card', status = 'failed', txid = NULL, expires_at = NULL WHERE id = ?",
    )
      .bind(row?.id)
      .run();
    expectProblem(await regenerate(passenger, rideId), 409, "payment_not_pix");
    const reply = await paymentOf(passenger, rideId);
    expect(reply.json).toMatchObject({ method: "card", status: "failed", pix: null });
  });
});
