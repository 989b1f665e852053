import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectEfiError, FAVORED_KEY, newId, PIX_KEY, type Sandbox, sandbox, WEBHOOK_URL } from "./helpers";

function sendBody(valor: string, favorecido: Record<string, unknown> = { chave: FAVORED_KEY }) {
  return { valor, pagador: { chave: PIX_KEY, infoPagador: "Repasse" }, favorecido };
}

async function send(box: Sandbox, valor: string, favorecido?: Record<string, unknown>) {
  const idEnvio = newId("envio");
  const reply = await box.call("PUT", `/v3/gn/pix/${idEnvio}`, {
    token: await box.token(),
    body: sendBody(valor, favorecido),
  });
  return { idEnvio, reply };
}

describe("PUT /v3/gn/pix/:idEnvio", () => {
  it("answers 201 EM_PROCESSAMENTO with an Efí e2eId", async () => {
    const now = new Date("2026-03-02T12:34:56.789Z");
    const box = sandbox({ now: () => now });
    await box.registerWebhook();
    const { idEnvio, reply } = await send(box, "7.50");
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json).toEqual({
      idEnvio,
      e2eId: expect.stringMatching(/^E09089356202603021234API[0-9a-f]{8}$/),
      valor: "7.50",
      horario: { solicitacao: "2026-03-02T12:34:56.789Z" },
      status: "EM_PROCESSAMENTO",
    });
  });

  it("confirms R$0.01–10.00 by webhook (REALIZADO) to the payer key's URL", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { idEnvio, reply } = await send(box, "10.00");
    const [call] = box.hooks.about(reply.json.e2eId);
    expect(call?.url).toBe(`${WEBHOOK_URL}/pix`);
    expect(call?.json).toEqual({
      pix: [
        {
          endToEndId: reply.json.e2eId,
          chave: PIX_KEY,
          tipo: "SOLICITACAO",
          status: "REALIZADO",
          valor: "10.00",
          horario: expect.any(String),
          infoPagador: "Repasse",
          gnExtras: { idEnvio },
        },
      ],
    });
    const detail = await box.call("GET", `/v2/gn/pix/enviados/id-envio/${idEnvio}`, {
      token: await box.token(),
    });
    expect(detail.json).toMatchObject({
      endToEndId: reply.json.e2eId,
      idEnvio,
      valor: "10.00",
      chave: PIX_KEY,
      status: "REALIZADO",
      horario: { solicitacao: expect.any(String), liquidacao: expect.any(String) },
      favorecido: { chave: FAVORED_KEY, identificacao: { nome: expect.any(String) } },
    });
  });

  it("rejects R$10.01–20.00 by webhook (NAO_REALIZADO, horario null, gnExtras.erro)", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    for (const valor of ["10.01", "20.00"]) {
      const { idEnvio, reply } = await send(box, valor);
      expect(reply.status, reply.text).toBe(201);
      const [call] = box.hooks.about(reply.json.e2eId);
      expect(call?.json.pix[0]).toMatchObject({
        status: "NAO_REALIZADO",
        horario: null,
        gnExtras: {
          idEnvio,
          erro: { codigo: "AC03", origem: expect.any(String), motivo: expect.any(String) },
        },
      });
      const detail = await box.call("GET", `/v2/gn/pix/enviados/id-envio/${idEnvio}`, {
        token: await box.token(),
      });
      expect(detail.json.status).toBe("NAO_REALIZADO");
    }
  });

  it("refuses above R$20.00 in the request itself: no record, no webhook", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { idEnvio, reply } = await send(box, "20.01");
    expect(reply.status).toBe(422);
    expect(reply.json).toEqual({ nome: "pagamento_negado", mensagem: "Pagamento negado por análises" });
    expect(box.hooks.calls).toHaveLength(0);
    const detail = await box.call("GET", `/v2/gn/pix/enviados/id-envio/${idEnvio}`, {
      token: await box.token(),
    });
    expect(detail.status).toBe(404);
    expect(detail.json).toEqual({
      type: "https://pix.bcb.gov.br/api/v2/error/PixEnviadoNaoEncontrado",
      title: "Não Encontrado",
      status: 404,
      detail: "Pix enviado não encontrado para o idEnvio informado.",
    });
  });

  it("answers 409 id_envio_duplicado when the idEnvio is reused, without replaying", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { idEnvio, reply } = await send(box, "5.00");
    expect(reply.status).toBe(201);
    const again = await box.call("PUT", `/v3/gn/pix/${idEnvio}`, {
      token: await box.token(),
      body: sendBody("5.00"),
    });
    expectEfiError(again, 409, "id_envio_duplicado");
    expect(again.json.mensagem).toBe("O id de envio informado já foi utilizado em outro pagamento");
  });

  it("accepts the v2 path the 2024 docs show, with the same rules", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const reply = await box.call("PUT", `/v2/gn/pix/${newId()}`, {
      token: await box.token(),
      body: sendBody("1.00"),
    });
    expect(reply.status, reply.text).toBe(201);
  });

  it("settles sends to a key only for efipay@sejaefi.com.br, unless told to accept any", async () => {
    const strict = sandbox();
    await strict.registerWebhook();
    const other = await send(strict, "1.00", { chave: "motorista@example.com" });
    expectEfiError(other.reply, 400, "chave_invalida");
    const bank = await send(strict, "1.00", {
      contaBanco: {
        nome: "JOSE",
        cpf: "10519952057",
        codigoBanco: "09089356",
        agencia: "1",
        conta: "123453",
        tipoConta: "cacc",
      },
    });
    expect(bank.reply.status, bank.reply.text).toBe(201);
    const loose = sandbox({ anyFavoredKey: true });
    expect((await send(loose, "1.00", { chave: "motorista@example.com" })).reply.status).toBe(201);
  });

  it("checks the payer key, its webhook, the amount and the idEnvio", async () => {
    const box = sandbox();
    const token = await box.token();
    await box.call("DELETE", `/v2/webhook/${PIX_KEY}`, { token });
    const noWebhook = await send(box, "1.00");
    expectEfiError(noWebhook.reply, 400, "webhook_nao_encontrado");
    await box.registerWebhook();
    const otherPayer = await box.call("PUT", `/v3/gn/pix/${newId()}`, {
      token,
      body: { ...sendBody("1.00"), pagador: { chave: "outra@chave.com" } },
    });
    expectEfiError(otherPayer, 400, "chave_invalida");
    expectEfiError((await send(box, "0.00")).reply, 400, "valor_invalido");
    expectEfiError((await send(box, "1,00")).reply, 400, "json_invalido");
    const badId = await box.call("PUT", `/v3/gn/pix/${"x".repeat(36)}`, { token, body: sendBody("1.00") });
    expectEfiError(badId, 400, "json_invalido");
    expect(badId.json.erros[0].caminho).toBe(".params.idEnvio");
  });

  it("makes R$4.00 bring two received refunds of R$2.00 and R$5.00 one of R$5.00", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    for (const [valor, parts] of [
      ["4.00", ["2.00", "2.00"]],
      ["5.00", ["5.00"]],
    ] as const) {
      const { reply } = await send(box, valor);
      const calls = box.hooks.about(reply.json.e2eId);
      expect(calls.map((c) => c.json.pix[0].status)).toEqual(["REALIZADO", "REALIZADO"]);
      const refunds = calls[1]?.json.pix[0].devolucoes;
      expect(refunds.map((r: any) => r.valor)).toEqual(parts);
      for (const refund of refunds)
        expect(refund).toMatchObject({ rtrId: expect.stringMatching(/^D09089356/), status: "DEVOLVIDO" });
    }
  });
});

describe("control API for sends", () => {
  it("fails a send still EM_PROCESSAMENTO with the given motivo, then refuses to settle it again", async () => {
    const box = sandbox();
    await box.registerWebhook();
    const { idEnvio, reply } = await send(box, "3.00");
    const failed = await box.call("POST", `/sandbox/pix-sends/${idEnvio}/fail`, {
      body: { motivo: "Conta encerrada" },
    });
    expect(failed.status, failed.text).toBe(200);
    const [call] = box.hooks.about(reply.json.e2eId);
    expect(call?.json.pix[0]).toMatchObject({
      status: "NAO_REALIZADO",
      horario: null,
      gnExtras: { idEnvio, erro: { codigo: "AC03", motivo: "Conta encerrada" } },
    });
    const twice = await box.call("POST", `/sandbox/pix-sends/${idEnvio}/confirm`, { body: {} });
    expect(twice.status).toBe(409);
    expect((await box.call("POST", "/sandbox/pix-sends/nope/fail", { body: {} })).status).toBe(404);
  });

  it("confirms a send on request, and fail-next rejects the next one that settles by itself", async () => {
    const manual = sandbox();
    await manual.registerWebhook();
    const first = await send(manual, "3.00");
    await manual.call("POST", `/sandbox/pix-sends/${first.idEnvio}/confirm`, { body: {} });
    expect(manual.hooks.about(first.reply.json.e2eId)[0]?.json.pix[0].status).toBe("REALIZADO");

    const auto = sandbox({ autoSettle: true });
    await auto.registerWebhook();
    await auto.call("POST", "/sandbox/pix-sends/fail-next", { body: { motivo: "Saldo insuficiente" } });
    const failed = await send(auto, "3.00");
    const next = await send(auto, "3.00");
    expect(auto.hooks.about(failed.reply.json.e2eId)[0]?.json.pix[0]).toMatchObject({
      status: "NAO_REALIZADO",
      gnExtras: { erro: { motivo: "Saldo insuficiente" } },
    });
    expect(auto.hooks.about(next.reply.json.e2eId)[0]?.json.pix[0].status).toBe("REALIZADO");
    const flags = await env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM sandbox_flags").first<{
      n: number;
    }>();
    expect(flags?.n).toBe(0);
  });

  it("resends a settled send's notification as PIX_ENVIADO", async () => {
    const box = sandbox({ autoSettle: true });
    await box.registerWebhook();
    const { reply } = await send(box, "2.00");
    const resent = await box.call("POST", "/sandbox/webhooks/resend", {
      body: { e2eids: [reply.json.e2eId] },
    });
    expect(resent.json.resending).toEqual([{ e2eId: reply.json.e2eId, kind: "PIX_ENVIADO" }]);
    const calls = box.hooks.about(reply.json.e2eId);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.body).toBe(calls[0]?.body);
  });
});
