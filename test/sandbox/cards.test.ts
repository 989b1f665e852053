import { describe, expect, it } from "vitest";
import { type Sandbox, sandbox } from "./helpers";

function oneStep(paymentToken: string, extra: Record<string, unknown> = {}) {
  return {
    items: [{ name: "Corrida", value: 2590, amount: 1 }],
    metadata: { custom_id: "ride_1", notification_url: "https://platform.test/webhooks/efi/card" },
    payment: {
      credit_card: {
        customer: {
          name: "Gorbadoc Oldbuck",
          cpf: "94271564656",
          email: "cliente@example.com",
          phone_number: "5144916523",
          birth: "1990-08-29",
        },
        installments: 1,
        payment_token: paymentToken,
        billing_address: {
          street: "Avenida Juscelino Kubitschek",
          number: "909",
          neighborhood: "Bauxita",
          zipcode: "35400000",
          city: "Ouro Preto",
          state: "MG",
        },
      },
    },
    ...extra,
  };
}

async function charge(box: Sandbox, paymentToken: string) {
  const reply = await box.call("POST", "/v1/charge/one-step", {
    token: await box.cardToken(),
    body: oneStep(paymentToken),
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

describe("POST /v1/charge/one-step", () => {
  it("approves a token whose last character is not 1, 2 or 3", async () => {
    const box = sandbox();
    const reply = await charge(box, "47f13d72c883c1547ae4a0df11eb46194f333f84");
    expect(reply).toEqual({
      code: 200,
      data: {
        installments: 1,
        installment_value: 2590,
        charge_id: expect.any(Number),
        status: "approved",
        total: 2590,
        payment: "credit_card",
      },
    });
  });

  it.each([
    ["1", "Dados do cartão inválidos.", false],
    ["2", "Transação não autorizada por motivos de segurança.", false],
    ["3", "Transação não autorizada, tente novamente mais tarde.", true],
  ])("refuses a token ending in %s: %s", async (digit, reason, retry) => {
    const box = sandbox();
    const reply = await charge(box, `tok_${digit}`);
    expect(reply.data).toMatchObject({ status: "unpaid", refusal: { reason, retry } });
    const read = await box.call("GET", `/v1/charge/${reply.data.charge_id}`, {
      token: await box.cardToken(),
    });
    expect(read.json.data).toMatchObject({ status: "unpaid", reason });
  });

  it("refuses the next charge whatever its token after POST /sandbox/cards/refuse-next", async () => {
    const box = sandbox();
    const flag = await box.call("POST", "/sandbox/cards/refuse-next", { body: { outcome: "3" } });
    expect(flag.status, flag.text).toBe(200);
    expect((await charge(box, "tok_9")).data).toMatchObject({ status: "unpaid", refusal: { retry: true } });
    expect((await charge(box, "tok_9")).data.status).toBe("approved");
  });

  it("answers Efí's validation_error shape for a bad body", async () => {
    const box = sandbox();
    const body = oneStep("tok_9");
    body.payment.credit_card.installments = 0;
    const reply = await box.call("POST", "/v1/charge/one-step", { token: await box.cardToken(), body });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      code: 3500034,
      error: "validation_error",
      error_description: { property: "/payment/credit_card/installments", message: expect.any(String) },
    });
  });

  it("notifies notification_url with the charge's token, form-encoded, on each change", async () => {
    const box = sandbox();
    const reply = await charge(box, "tok_9");
    const chargeId = reply.data.charge_id;
    const calls = box.hooks.calls.filter((c) => c.url === "https://platform.test/webhooks/efi/card");
    expect(calls.length).toBe(2); // waiting, approved
    expect(calls[0]?.contentType).toBe("application/x-www-form-urlencoded");
    const token = new URLSearchParams(calls[0]?.body).get("notification");
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls.every((c) => c.body === calls[0]?.body)).toBe(true);

    const confirmed = await box.call("POST", `/sandbox/cards/${chargeId}/confirm`, { body: {} });
    expect(confirmed.status, confirmed.text).toBe(200);
    const history = await box.call("GET", `/v1/notification/${token}`, { token: await box.cardToken() });
    expect(history.status, history.text).toBe(200);
    expect(history.json.data.map((n: any) => n.status)).toEqual([
      { current: "new", previous: null },
      { current: "waiting", previous: "new" },
      { current: "approved", previous: "waiting" },
      { current: "paid", previous: "approved" },
    ]);
    expect(history.json.data[0]).toMatchObject({
      type: "charge",
      custom_id: "ride_1",
      identifiers: { charge_id: chargeId },
    });
  });
});

describe("POST /v1/charge/card/:id/refund", () => {
  it("refunds a paid charge in part and then in full", async () => {
    const box = sandbox({ autoSettle: true });
    const { data } = await charge(box, "tok_9");
    const token = await box.cardToken();
    expect((await box.call("GET", `/v1/charge/${data.charge_id}`, { token })).json.data.status).toBe("paid");
    const part = await box.call("POST", `/v1/charge/card/${data.charge_id}/refund`, {
      token,
      body: { amount: 1000 },
    });
    expect(part.json).toEqual({ status: 200, message: "Reembolso em processamento" });
    expect((await box.call("GET", `/v1/charge/${data.charge_id}`, { token })).json.data.status).toBe("paid");
    const tooMuch = await box.call("POST", `/v1/charge/card/${data.charge_id}/refund`, {
      token,
      body: { amount: 1591 },
    });
    expect(tooMuch.status).toBe(400);
    const rest = await box.call("POST", `/v1/charge/card/${data.charge_id}/refund`, { token, body: {} });
    expect(rest.status, rest.text).toBe(200);
    expect((await box.call("GET", `/v1/charge/${data.charge_id}`, { token })).json.data.status).toBe(
      "refunded",
    );
  });

  it("refuses a charge that is not paid, and an unknown one", async () => {
    const box = sandbox();
    const { data } = await charge(box, "tok_9");
    const token = await box.cardToken();
    const approved = await box.call("POST", `/v1/charge/card/${data.charge_id}/refund`, { token, body: {} });
    expect(approved.status).toBe(400);
    expect(approved.json).toMatchObject({ code: expect.any(Number), error: "invalid_status" });
    const unknown = await box.call("POST", "/v1/charge/card/999999/refund", { token, body: {} });
    expect(unknown.status).toBe(404);
  });
});
