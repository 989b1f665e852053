import { describe, expect, it } from "vitest";
import { notificationUrl } from "../../sandbox/efi/src/webhooks";
import { expectEfiError, PIX_KEY, sandbox, WEBHOOK_URL } from "./helpers";

describe("notificationUrl", () => {
  it.each([
    ["https://platform.test/webhooks/efi", "https://platform.test/webhooks/efi/pix"],
    ["https://platform.test/webhooks/efi/", "https://platform.test/webhooks/efi/pix"],
    ["https://platform.test/webhook?ignorar=", "https://platform.test/webhook?ignorar=/pix"],
    [
      "https://platform.test/webhook?hmac=s3cr3t&ignorar=",
      "https://platform.test/webhook?hmac=s3cr3t&ignorar=/pix",
    ],
    [
      "https://platform.test/webhook?ignorar=&hmac=s3cr3t",
      "https://platform.test/webhook?ignorar=/pix&hmac=s3cr3t",
    ],
    ["https://platform.test/webhook?hmac=s3cr3t", "https://platform.test/webhook/pix?hmac=s3cr3t"],
  ])("%s → %s", (registered, target) => {
    expect(notificationUrl(registered)).toBe(target);
  });
});

describe("webhook registration", () => {
  it("registers, reads and deletes the URL of the account's key", async () => {
    const box = sandbox();
    const token = await box.token();
    const put = await box.call("PUT", `/v2/webhook/${PIX_KEY}`, { token, body: { webhookUrl: WEBHOOK_URL } });
    expect(put.status, put.text).toBe(201);
    const get = await box.call("GET", `/v2/webhook/${PIX_KEY}`, { token });
    expect(get.json).toEqual({ webhookUrl: WEBHOOK_URL, chave: PIX_KEY, criacao: expect.any(String) });
    const list = await box.call("GET", "/v2/webhook?inicio=2020-01-01T00:00:00Z&fim=2100-01-01T00:00:00Z", {
      token,
    });
    expect(list.json.webhooks).toEqual([get.json]);
    expect((await box.call("DELETE", `/v2/webhook/${PIX_KEY}`, { token })).status).toBe(204);
    expect((await box.call("GET", `/v2/webhook/${PIX_KEY}`, { token })).status).toBe(400);
  });

  it.each([
    ["http://platform.test/webhook", "A URL do webhook deve usar o protocolo HTTPS"],
    ["ftp://platform.test/webhook", "A URL do webhook deve usar o protocolo HTTPS"],
    ["not a url", "URL inválida"],
  ])("refuses %s with valor_invalido", async (webhookUrl, mensagem) => {
    const box = sandbox();
    const reply = await box.call("PUT", `/v2/webhook/${PIX_KEY}`, {
      token: await box.token(),
      body: { webhookUrl },
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ nome: "valor_invalido", mensagem });
  });

  it.each(["http://localhost:8787/webhooks/efi/pix?hmac=x&ignorar=", "http://127.0.0.1:8787/webhooks/efi"])(
    "accepts plain http on this machine (%s), for the local platform",
    async (webhookUrl) => {
      const box = sandbox();
      const reply = await box.call("PUT", `/v2/webhook/${PIX_KEY}`, {
        token: await box.token(),
        body: { webhookUrl },
      });
      expect(reply.status, reply.text).toBe(201);
    },
  );

  it("refuses a key that is not the account's", async () => {
    const box = sandbox();
    const reply = await box.call("PUT", "/v2/webhook/someone@else.com", {
      token: await box.token(),
      body: { webhookUrl: WEBHOOK_URL },
    });
    expectEfiError(reply, 400, "chave_invalida");
  });
});

describe("delivery of a received Pix", () => {
  it("POSTs {pix: [...]} as JSON to the URL with /pix appended", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { txid, e2eId } = await box.paidCob("25.00");
    const [call, ...more] = box.hooks.about(e2eId);
    expect(more).toHaveLength(0);
    expect(call?.url).toBe(`${WEBHOOK_URL}/pix`);
    expect(call?.method).toBe("POST");
    expect(call?.contentType).toBe("application/json");
    expect(call?.json).toEqual({
      pix: [{ endToEndId: e2eId, txid, chave: PIX_KEY, valor: "25.00", horario: expect.any(String) }],
    });
    expect(call?.json.pix[0].horario).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("honours ?ignorar= and keeps the hmac parameter intact", async () => {
    const box = sandbox();
    await box.registerWebhook("https://platform.test/webhooks/efi/pix?hmac=s3cr3t%2Bx&ignorar=");
    const { e2eId } = await box.paidCob("25.00");
    const [call] = box.hooks.about(e2eId);
    expect(call?.url).toBe("https://platform.test/webhooks/efi/pix?hmac=s3cr3t%2Bx&ignorar=/pix");
    const url = new URL(call?.url ?? "");
    expect(url.pathname).toBe("/webhooks/efi/pix");
    expect(url.searchParams.get("hmac")).toBe("s3cr3t+x");
    expect(url.searchParams.get("ignorar")).toBe("/pix");
  });

  it("retries on a non-2XX answer until one succeeds, and records every attempt", async () => {
    const box = sandbox();
    await box.registerWebhook();
    box.hooks.answer(500, 503, 429);
    const { e2eId } = await box.paidCob("25.00");
    expect(box.hooks.about(e2eId)).toHaveLength(4);
    const state = await box.call("GET", "/sandbox/state");
    const delivery = state.json.deliveries.find((d: any) => d.e2e_ids === e2eId);
    expect(delivery).toMatchObject({
      kind: "PIX_RECEBIDO",
      reason: "event",
      state: "delivered",
      attempts: 4,
    });
    expect(delivery.tries.map((t: any) => t.http_status)).toEqual([500, 503, 429, 200]);
  });

  it("gives up after the last retry and records the delivery as failed", async () => {
    const box = sandbox({ retryDelaysMs: [0, 0] });
    await box.registerWebhook();
    box.hooks.refuse();
    const { e2eId } = await box.paidCob("25.00");
    expect(box.hooks.about(e2eId)).toHaveLength(3);
    const state = await box.call("GET", "/sandbox/state");
    const delivery = state.json.deliveries.find((d: any) => d.e2e_ids === e2eId);
    expect(delivery).toMatchObject({ state: "failed", attempts: 3 });
    expect(delivery.tries[0]).toMatchObject({
      http_status: null,
      error: expect.stringContaining("connection refused"),
    });
  });

  it("records a Pix with no webhook registered as skipped, and sends nothing", async () => {
    const box = sandbox();
    await box.call("DELETE", `/v2/webhook/${PIX_KEY}`, { token: await box.token() }); // from earlier tests
    const { e2eId } = await box.paidCob("25.00");
    expect(box.hooks.about(e2eId)).toHaveLength(0);
    const state = await box.call("GET", "/sandbox/state");
    expect(state.json.deliveries.find((d: any) => d.e2e_ids === e2eId)).toMatchObject({
      state: "skipped",
      url: "",
    });
  });
});

describe("resending", () => {
  it("POST /sandbox/webhooks/resend delivers the same notification again, one attempt only", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { e2eId } = await box.paidCob("25.00");
    const first = box.hooks.about(e2eId)[0];
    const reply = await box.call("POST", "/sandbox/webhooks/resend", { body: { e2eids: [e2eId] } });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toEqual({ resending: [{ e2eId, kind: "PIX_RECEBIDO" }] });
    const [, again] = box.hooks.about(e2eId);
    expect(again?.url).toBe(first?.url);
    expect(again?.body).toBe(first?.body);

    box.hooks.answer(500);
    await box.call("POST", "/sandbox/webhooks/resend", { body: { e2eids: [e2eId] } });
    expect(box.hooks.about(e2eId)).toHaveLength(3); // no retry after the 500
    const missing = await box.call("POST", "/sandbox/webhooks/resend", { body: { e2eids: ["E0000"] } });
    expect(missing.status).toBe(404);
  });

  it("POST /v2/gn/webhook/reenviar does the same for the given tipo, and checks the e2eIds", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { e2eId } = await box.paidCob("25.00");
    const token = await box.token();
    const reply = await box.call("POST", "/v2/gn/webhook/reenviar", {
      token,
      body: { tipo: "PIX_RECEBIDO", e2eids: [e2eId] },
    });
    expect(reply.status, reply.text).toBe(202);
    expect(box.hooks.about(e2eId)).toHaveLength(2);
    const wrongType = await box.call("POST", "/v2/gn/webhook/reenviar", {
      token,
      body: { tipo: "PIX_ENVIADO", e2eids: [e2eId] },
    });
    expectEfiError(wrongType, 400, "json_invalido");
    const badTipo = await box.call("POST", "/v2/gn/webhook/reenviar", {
      token,
      body: { tipo: "X", e2eids: [e2eId] },
    });
    expectEfiError(badTipo, 400, "json_invalido");
  });
});
