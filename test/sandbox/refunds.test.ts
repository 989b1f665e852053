import { describe, expect, it } from "vitest";
import { expectEfiError, newId, PIX_KEY, sandbox } from "./helpers";

describe("PUT /v2/pix/:e2eId/devolucao/:id", () => {
  it("answers 201 EM_PROCESSAMENTO with an rtrId, then DEVOLVIDO by webhook with the devolucoes", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { txid, e2eId } = await box.paidCob("30.00");
    const id = newId("dev");
    const reply = await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${id}`, {
      token: await box.token(),
      body: { valor: "7.89" },
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json).toEqual({
      id,
      rtrId: expect.stringMatching(/^D09089356\d{12}[a-zA-Z0-9]{11}$/),
      valor: "7.89",
      horario: { solicitacao: expect.any(String) },
      status: "EM_PROCESSAMENTO",
    });
    const [, refundCall] = box.hooks.about(e2eId);
    expect(refundCall?.json).toEqual({
      pix: [
        {
          endToEndId: e2eId,
          txid,
          chave: PIX_KEY,
          valor: "30.00",
          horario: expect.any(String),
          devolucoes: [
            {
              id,
              rtrId: reply.json.rtrId,
              valor: "7.89",
              horario: { solicitacao: reply.json.horario.solicitacao },
              status: "DEVOLVIDO",
            },
          ],
        },
      ],
    });
    const detail = await box.call("GET", `/v2/pix/${e2eId}/devolucao/${id}`, { token: await box.token() });
    expect(detail.json).toMatchObject({
      id,
      status: "DEVOLVIDO",
      horario: { liquidacao: expect.any(String) },
    });
    const pix = await box.call("GET", `/v2/pix/${e2eId}`, { token: await box.token() });
    expect(pix.json.devolucoes).toEqual([detail.json]);
  });

  it("rejects a refund of exactly R$0.01 (homologação) and notifies NAO_REALIZADO with a motivo", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { e2eId } = await box.paidCob("30.00");
    const id = newId("dev");
    await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${id}`, {
      token: await box.token(),
      body: { valor: "0.01" },
    });
    const refund = box.hooks.about(e2eId)[1]?.json.pix[0].devolucoes[0];
    expect(refund).toMatchObject({ id, valor: "0.01", status: "NAO_REALIZADO", motivo: expect.any(String) });
    const detail = await box.call("GET", `/v2/pix/${e2eId}/devolucao/${id}`, { token: await box.token() });
    expect(detail.json).toMatchObject({ status: "NAO_REALIZADO", motivo: expect.any(String) });
    expect(detail.json.horario.liquidacao).toBeUndefined();
  });

  it("keeps the refunds of a Pix within its amount, rejected ones aside", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { e2eId } = await box.paidCob("10.50");
    const token = await box.token();
    const put = (valor: string) =>
      box.call("PUT", `/v2/pix/${e2eId}/devolucao/${newId("dev")}`, { token, body: { valor } });
    expect((await put("0.01")).status).toBe(201); // rejected: does not count
    expect((await put("10.00")).status).toBe(201);
    const over = await put("0.51");
    expectEfiError(over, 400, "valor_invalido");
    expect((await put("0.50")).status).toBe(201);
    expectEfiError(await put("0.02"), 400, "valor_invalido");
  });

  it("answers 409 devolucao_id_duplicado for a reused id", async () => {
    const box = sandbox();
    const { e2eId } = await box.paidCob("30.00");
    const token = await box.token();
    const id = newId("dev");
    expect(
      (await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${id}`, { token, body: { valor: "1.00" } })).status,
    ).toBe(201);
    const again = await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${id}`, {
      token,
      body: { valor: "1.00" },
    });
    expectEfiError(again, 409, "devolucao_id_duplicado");
    expect(again.json.mensagem).toBe("O id informado já foi utilizado em outra devolução");
  });

  it("answers pix_nao_encontrado and devolucao_nao_encontrada with 400", async () => {
    const box = sandbox();
    const token = await box.token();
    const unknownPix = "E09089356202603021200abcdefghijk";
    const put = await box.call("PUT", `/v2/pix/${unknownPix}/devolucao/d1`, {
      token,
      body: { valor: "1.00" },
    });
    expect(put.json).toEqual({
      nome: "pix_nao_encontrado",
      mensagem: "Nenhum pix encontrado para o identificador informado",
    });
    expect(put.status).toBe(400);
    const { e2eId } = await box.paidCob("30.00");
    const get = await box.call("GET", `/v2/pix/${e2eId}/devolucao/nope`, { token });
    expectEfiError(get, 400, "devolucao_nao_encontrada");
    const badId = await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${"x".repeat(36)}`, {
      token,
      body: { valor: "1.00" },
    });
    expectEfiError(badId, 400, "json_invalido");
  });

  it("stays EM_PROCESSAMENTO until settled through the control API when auto-settle is off", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { e2eId } = await box.paidCob("30.00");
    const id = newId("dev");
    await box.call("PUT", `/v2/pix/${e2eId}/devolucao/${id}`, {
      token: await box.token(),
      body: { valor: "3.00" },
    });
    expect(box.hooks.about(e2eId)).toHaveLength(1);
    const settled = await box.call("POST", `/sandbox/refunds/${e2eId}/${id}/settle`, { body: {} });
    expect(settled.status, settled.text).toBe(200);
    expect(box.hooks.about(e2eId)[1]?.json.pix[0].devolucoes[0].status).toBe("DEVOLVIDO");
    expect((await box.call("POST", `/sandbox/refunds/${e2eId}/${id}/settle`, { body: {} })).status).toBe(409);
    const resent = await box.call("POST", "/sandbox/webhooks/resend", { body: { e2eids: [e2eId] } });
    expect(resent.json.resending).toEqual([{ e2eId, kind: "DEVOLUCAO_ENVIADA" }]);
  });
});
