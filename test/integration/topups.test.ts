import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { txidOf } from "../../src/integrations/efi";
import { TOPUP_MAX_CENTS, TOPUP_MIN_CENTS } from "../../src/services/payments/topups";
import { call, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { breakChargeCreation, efiCob, paymentRowById, sandboxCobCount, settle } from "../payment-helpers";
import { bearer, openSocket } from "../ride-helpers";

function topup(user: TestUser, body: unknown, key: string = unique()) {
  return call("POST", "/v1/wallet/credit/topups", {
    token: user.accessToken,
    headers: { "idempotency-key": key },
    body,
  });
}

async function paymentsOf(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM payments WHERE payer_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("POST /v1/wallet/credit/topups", () => {
  it("answers 201 with a pending Pix charge for the driver and sends them the QR code", async () => {
    const driver = await registerUser("driver");
    const channel = await openSocket("/v1/ws", bearer(driver.accessToken));
    const reply = await topup(driver, { amount_cents: 5000 });
    expect(reply.status, reply.text).toBe(201);
    const payment = reply.json;
    expect(payment).toMatchObject({
      purpose: "credit_topup",
      status: "pending",
      method: "pix",
      amount_cents: 5000,
      refunded_cents: 0,
      ride_id: null,
      payer_id: driver.id,
      paid_at: null,
      pix: { txid: txidOf(payment.id, 1), attempt: 1, end_to_end_id: null },
    });
    expect(payment.id).toMatch(/^pay_/);
    expect(payment.pix.copia_e_cola).toMatch(/^000201/);
    expect(payment.pix.qr_code_png).toMatch(/^data:image\/png;base64,/);
    expect(Date.parse(payment.pix.expires_at)).toBeGreaterThan(Date.now());

    const cob = await efiCob(payment.pix.txid);
    expect(cob.json).toMatchObject({
      status: "ATIVA",
      valor: { original: "50.00" },
      pixCopiaECola: payment.pix.copia_e_cola,
    });
    expect(await paymentRowById(payment.id)).toMatchObject({
      purpose: "credit_topup",
      payer_id: driver.id,
      ride_id: null,
      status: "pending",
      txid: payment.pix.txid,
    });

    const event = await channel.next((m) => m.type === "payment.qr_generated");
    expect(event.ride_id).toBeUndefined();
    expect(event.data).toMatchObject({
      payment_id: payment.id,
      purpose: "credit_topup",
      ride_id: null,
      amount_cents: 5000,
      txid: payment.pix.txid,
      copia_e_cola: payment.pix.copia_e_cola,
    });

    const read = await call("GET", `/v1/payments/${payment.id}`, { token: driver.accessToken });
    expect(read.status, read.text).toBe(200);
    expect(read.json).toEqual(payment);
  });

  it("replays the first reply for the same Idempotency-Key: one payment, one charge", async () => {
    const driver = await registerUser("driver");
    const key = unique();
    const first = await topup(driver, { amount_cents: 2500 }, key);
    expect(first.status, first.text).toBe(201);
    const again = await topup(driver, { amount_cents: 2500 }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json).toEqual(first.json);
    const concurrent = await Promise.all([1, 2, 3].map(() => topup(driver, { amount_cents: 2500 }, key)));
    for (const reply of concurrent) {
      if (reply.status === 201) expect(reply.json.id).toBe(first.json.id);
      else expectProblem(reply, 409, "idempotency_in_progress");
    }
    expect(await paymentsOf(driver.id)).toBe(1);
    expect(await sandboxCobCount(String(first.json.id).replace("_", ""))).toBe(1);

    expectProblem(await topup(driver, { amount_cents: 2600 }, key), 422, "idempotency_key_reused");
    // Another key is another top-up.
    const second = await topup(driver, { amount_cents: 2500 });
    expect(second.status).toBe(201);
    expect(second.json.id).not.toBe(first.json.id);
    expect(await paymentsOf(driver.id)).toBe(2);
  });

  it(`accepts ${TOPUP_MIN_CENTS} to ${TOPUP_MAX_CENTS} centavos and refuses amounts outside with 422`, async () => {
    const driver = await registerUser("driver");
    for (const amount of [TOPUP_MIN_CENTS, TOPUP_MAX_CENTS]) {
      const reply = await topup(driver, { amount_cents: amount });
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json.amount_cents).toBe(amount);
    }
    for (const amount of [1, TOPUP_MIN_CENTS - 1, TOPUP_MAX_CENTS + 1, 10_000_000]) {
      const reply = await topup(driver, { amount_cents: amount });
      expectProblem(reply, 422, "topup_amount_out_of_range");
      expect(reply.json.errors).toEqual([{ path: "amount_cents", message: expect.any(String) }]);
    }
    expect(await paymentsOf(driver.id)).toBe(2);
  });

  it.each([
    ["a fraction of a centavo", { amount_cents: 1500.5 }],
    ["zero", { amount_cents: 0 }],
    ["a negative amount", { amount_cents: -1000 }],
    ["a string", { amount_cents: "5000" }],
    ["no amount", {}],
    ["an absurd amount", { amount_cents: 1e12 }],
  ])("refuses %s with 400 validation_failed", async (_name, body) => {
    const driver = await registerUser("driver");
    expectProblem(await topup(driver, body), 400, "validation_failed");
    expect(await paymentsOf(driver.id)).toBe(0);
  });

  it("is for drivers only, signed in, with an Idempotency-Key", async () => {
    const passenger = await registerUser("passenger");
    expectProblem(await topup(passenger, { amount_cents: 5000 }), 403, "forbidden");
    expect(await paymentsOf(passenger.id)).toBe(0);
    expectProblem(
      await call("POST", "/v1/wallet/credit/topups", { body: { amount_cents: 5000 } }),
      401,
      "authentication_required",
    );
    const driver = await registerUser("driver");
    expectProblem(
      await call("POST", "/v1/wallet/credit/topups", {
        token: driver.accessToken,
        body: { amount_cents: 5000 },
      }),
      400,
      "idempotency_key_required",
    );
  });

  it("answers 503 when Efí cannot create the charge; the same key then works once Efí is back", async () => {
    const driver = await registerUser("driver");
    const channel = await openSocket("/v1/ws", bearer(driver.accessToken));
    const key = unique();
    const mend = breakChargeCreation("down");
    let failed: Awaited<ReturnType<typeof topup>>;
    try {
      failed = await topup(driver, { amount_cents: 5000 }, key);
    } finally {
      mend();
    }
    expectProblem(failed, 503, "payment_provider_unavailable");
    const rows = await env.DB.prepare("SELECT status, failure_reason, txid FROM payments WHERE payer_id = ?")
      .bind(driver.id)
      .all();
    expect(rows.results).toEqual([
      { status: "failed", failure_reason: "charge_creation_failed", txid: null },
    ]);

    const retried = await topup(driver, { amount_cents: 5000 }, key);
    expect(retried.status, retried.text).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(retried.json).toMatchObject({ status: "pending", pix: { attempt: 1 } });
    expect(retried.json.pix.copia_e_cola).toMatch(/^000201/);
    await channel.next((m) => m.type === "payment.qr_generated");
    await settle();
    expect(channel.messages.filter((m) => m.type === "payment.qr_generated")).toHaveLength(1);
  });
});

describe("GET /v1/payments/{id}", () => {
  it("shows a top-up to its driver only", async () => {
    const driver = await registerUser("driver");
    const created = await topup(driver, { amount_cents: 3000 });
    expect(created.status).toBe(201);
    const own = await call("GET", `/v1/payments/${created.json.id}`, { token: driver.accessToken });
    expect(own.status).toBe(200);
    expect(own.json).toEqual(created.json);
    for (const other of [await registerUser("driver"), await registerUser("passenger")]) {
      expectProblem(
        await call("GET", `/v1/payments/${created.json.id}`, { token: other.accessToken }),
        404,
        "payment_not_found",
      );
    }
    expectProblem(
      await call("GET", "/v1/payments/pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C", { token: driver.accessToken }),
      404,
      "payment_not_found",
    );
  });
});
