import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectEfiError, newTxid, PIX_KEY, sandbox } from "./helpers";

const body = (extra: Record<string, unknown> = {}) => ({
  calendario: { expiracao: 3600 },
  valor: { original: "37.00" },
  chave: PIX_KEY,
  ...extra,
});

describe("PUT /v2/cob/:txid", () => {
  it("creates an ATIVA cob: 201, Efí's fields in Efí's order, amounts as strings", async () => {
    const now = new Date("2026-03-02T12:00:00.123Z");
    const box = sandbox({ now: () => now });
    const txid = newTxid();
    const reply = await box.call("PUT", `/v2/cob/${txid}`, {
      token: await box.token(),
      body: body({
        devedor: { cpf: "12345678909", nome: "Francisco da Silva" },
        solicitacaoPagador: "Corrida",
        infoAdicionais: [{ nome: "Corrida", valor: "ride_1" }],
      }),
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get("content-type")).toContain("application/json");
    expect(Object.keys(reply.json)).toEqual([
      "calendario",
      "txid",
      "revisao",
      "status",
      "valor",
      "chave",
      "devedor",
      "solicitacaoPagador",
      "infoAdicionais",
      "loc",
      "location",
      "pixCopiaECola",
    ]);
    expect(reply.json).toMatchObject({
      calendario: { criacao: "2026-03-02T12:00:00.123Z", expiracao: 3600 },
      txid,
      revisao: 0,
      status: "ATIVA",
      valor: { original: "37.00" },
      chave: PIX_KEY,
      devedor: { cpf: "12345678909", nome: "Francisco da Silva" },
      loc: { id: expect.any(Number), tipoCob: "cob", criacao: "2026-03-02T12:00:00.123Z" },
    });
    expect(reply.json.loc.location).toBe(reply.json.location);
    expect(reply.json.location).not.toMatch(/^https?:/);
  });

  it("answers 409 txid_duplicado when the txid was used", async () => {
    const box = sandbox();
    const token = await box.token();
    const txid = newTxid();
    expect((await box.call("PUT", `/v2/cob/${txid}`, { token, body: body() })).status).toBe(201);
    const again = await box.call("PUT", `/v2/cob/${txid}`, { token, body: body() });
    expectEfiError(again, 409, "txid_duplicado");
    expect(again.json.mensagem).toBe("Campo txid informado já foi utilizado em outra cobrança");
  });

  it.each(["short", "a".repeat(25), "a".repeat(36), `${"a".repeat(29)}-x`])(
    "rejects the txid %s",
    async (txid) => {
      const box = sandbox();
      const reply = await box.call("PUT", `/v2/cob/${txid}`, { token: await box.token(), body: body() });
      expectEfiError(reply, 400, "json_invalido");
      expect(reply.json.erros).toEqual([
        { chave: "pattern", caminho: ".params.txid", mensagem: expect.stringContaining("26,35") },
      ]);
    },
  );

  it.each([
    [
      "a comma decimal",
      { valor: { original: "10,00" } },
      { chave: "pattern", caminho: ".body.valor.original" },
    ],
    ["one decimal", { valor: { original: "10.0" } }, { chave: "pattern", caminho: ".body.valor.original" }],
    ["a number", { valor: { original: 10 } }, { chave: "type", caminho: ".body.valor.original" }],
    ["no chave", { chave: undefined }, { chave: "required", caminho: ".body" }],
    ["no calendario", { calendario: undefined }, { chave: "required", caminho: ".body" }],
    ["a long solicitacaoPagador", { solicitacaoPagador: "x".repeat(141) }, { chave: "maxLength" }],
    [
      "51 infoAdicionais",
      { infoAdicionais: Array(51).fill({ nome: "a", valor: "b" }) },
      { chave: "maxItems" },
    ],
    [
      "cpf and cnpj",
      { devedor: { cpf: "12345678909", cnpj: "11222333000181", nome: "X" } },
      { chave: "oneOf" },
    ],
  ])("answers json_invalido with erros[] for %s", async (_name, patch, erro) => {
    const box = sandbox();
    const reply = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token: await box.token(),
      body: body(patch),
    });
    expectEfiError(reply, 400, "json_invalido");
    expect(reply.json.mensagem).toBe("Valores ou tipos de campo inválidos");
    expect(reply.json.erros).toEqual(expect.arrayContaining([expect.objectContaining(erro)]));
    for (const entry of reply.json.erros)
      expect(Object.keys(entry).sort()).toEqual(["caminho", "chave", "mensagem"]);
  });

  it.each([
    ["a zero amount", { valor: { original: "0.00" } }, "Campo valor.original deve ser maior que zero"],
    ["expiracao 0", { calendario: { expiracao: 0 } }, "Campo calendario.expiracao deve ser maior que zero"],
    ["a bad CPF", { devedor: { cpf: "12345678900", nome: "X" } }, "Documento CPF em devedor.cpf é inválido"],
    [
      "a bad CNPJ",
      { devedor: { cnpj: "11222333000180", nome: "X" } },
      "Documento CNPJ em devedor.cnpj é inválido",
    ],
  ])("answers valor_invalido for %s", async (_name, patch, mensagem) => {
    const box = sandbox();
    const reply = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token: await box.token(),
      body: body(patch),
    });
    expectEfiError(reply, 400, "valor_invalido");
    expect(reply.json).toEqual({ nome: "valor_invalido", mensagem });
  });

  it("answers chave_invalida for a key that is not the account's", async () => {
    const box = sandbox();
    const reply = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token: await box.token(),
      body: body({ chave: "someone@else.com" }),
    });
    expectEfiError(reply, 400, "chave_invalida");
  });

  it("answers json_invalido for a body that is not JSON", async () => {
    const box = sandbox();
    const reply = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token: await box.token(),
      raw: "{not json",
      headers: { "content-type": "application/json" },
    });
    expectEfiError(reply, 400, "json_invalido");
  });

  it("defaults expiracao to a day when calendario is empty", async () => {
    const box = sandbox();
    const cob = await box.createCob("12.00", { calendario: {} });
    expect(cob.calendario.expiracao).toBe(86400);
  });
});

describe("POST /v2/cob", () => {
  it("picks a 32-character lower-case hex txid", async () => {
    const box = sandbox();
    const reply = await box.call("POST", "/v2/cob", { token: await box.token(), body: body() });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json.txid).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("GET /v2/cob/:txid", () => {
  it("answers 400 cobranca_nao_encontrada for an unknown txid, as Efí's docs say", async () => {
    const box = sandbox();
    const reply = await box.call("GET", `/v2/cob/${newTxid()}`, { token: await box.token() });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      nome: "cobranca_nao_encontrada",
      mensagem: "Nenhuma cobrança encontrada para o txid informado",
    });
  });

  it("shows CONCLUIDA and pix[] once paid, with the amount actually paid", async () => {
    const box = sandbox();
    const cob = await box.createCob("37.00");
    const paid = await box.call("POST", `/sandbox/charges/${cob.txid}/pay`, { body: { valor: "36.99" } });
    expect(paid.status, paid.text).toBe(200);
    const reply = await box.call("GET", `/v2/cob/${cob.txid}`, { token: await box.token() });
    expect(reply.json.status).toBe("CONCLUIDA");
    expect(reply.json.valor).toEqual({ original: "37.00" });
    expect(reply.json.pix).toEqual([
      { endToEndId: paid.json.e2eId, txid: cob.txid, valor: "36.99", horario: paid.json.horario },
    ]);
    expect(paid.json.e2eId).toMatch(/^E09089356\d{12}[a-zA-Z0-9]{11}$/);
    const again = await box.call("POST", `/sandbox/charges/${cob.txid}/pay`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe("cob_not_active");
  });

  it("keeps an expired cob ATIVA but the control API will not pay it", async () => {
    let now = new Date("2026-03-02T12:00:00.000Z");
    const box = sandbox({ now: () => now });
    const cob = await box.createCob("5.00", { calendario: { expiracao: 60 } });
    now = new Date("2026-03-02T12:01:00.000Z");
    const paid = await box.call("POST", `/sandbox/charges/${cob.txid}/pay`, { body: {} });
    expect(paid.status).toBe(409);
    expect(paid.json.error).toBe("cob_expired");
    const reply = await box.call("GET", `/v2/cob/${cob.txid}`, { token: await box.token() });
    expect(reply.json.status).toBe("ATIVA");
  });
});

describe("PATCH /v2/cob/:txid", () => {
  it("revises an ATIVA cob, and removal ends what can be changed", async () => {
    const box = sandbox();
    const token = await box.token();
    const cob = await box.createCob("37.00");
    const revised = await box.call("PATCH", `/v2/cob/${cob.txid}`, {
      token,
      body: { valor: { original: "38.50" } },
    });
    expect(revised.status, revised.text).toBe(200);
    expect(revised.json).toMatchObject({ revisao: 1, valor: { original: "38.50" }, status: "ATIVA" });
    const removed = await box.call("PATCH", `/v2/cob/${cob.txid}`, {
      token,
      body: { status: "REMOVIDA_PELO_USUARIO_RECEBEDOR" },
    });
    expect(removed.json).toMatchObject({ revisao: 2, status: "REMOVIDA_PELO_USUARIO_RECEBEDOR" });
    const late = await box.call("PATCH", `/v2/cob/${cob.txid}`, {
      token,
      body: { valor: { original: "1.00" } },
    });
    expectEfiError(late, 400, "status_cobranca_invalido");
    const missing = await box.call("PATCH", `/v2/cob/${newTxid()}`, { token, body: {} });
    expectEfiError(missing, 400, "cobranca_nao_encontrada");
  });
});

describe("locations", () => {
  it("answers 400 location_nao_encontrada for an unknown id", async () => {
    const box = sandbox();
    const token = await box.token();
    for (const id of ["999999", "abc"]) {
      const reply = await box.call("GET", `/v2/loc/${id}/qrcode`, { token });
      expectEfiError(reply, 400, "location_nao_encontrada");
    }
  });

  it("creates a location and lets a cob use it once", async () => {
    const box = sandbox();
    const token = await box.token();
    const loc = await box.call("POST", "/v2/loc", { token, body: { tipoCob: "cob" } });
    expect(loc.status, loc.text).toBe(201);
    expect(loc.json).toEqual({
      id: expect.any(Number),
      location: expect.any(String),
      tipoCob: "cob",
      criacao: expect.any(String),
    });
    const cob = await box.createCob("20.00", { loc: { id: loc.json.id } });
    expect(cob.loc.id).toBe(loc.json.id);
    expect(cob.location).toBe(loc.json.location);
    const taken = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token,
      body: body({ loc: { id: loc.json.id } }),
    });
    expectEfiError(taken, 400, "valor_invalido");
    const detail = await box.call("GET", `/v2/loc/${loc.json.id}`, { token });
    expect(detail.json.txid).toBe(cob.txid);
    const badEnum = await box.call("POST", "/v2/loc", { token, body: { tipoCob: "boleto" } });
    expectEfiError(badEnum, 400, "json_invalido");
    expect(badEnum.json.erros).toEqual([
      expect.objectContaining({ chave: "enum", caminho: ".body.tipoCob" }),
    ]);
  });
});

describe("auto-pay (homologação: R$0.01–10.00 is paid by itself)", () => {
  it("pays a R$10.00 cob and notifies, but leaves R$10.01 ATIVA", async () => {
    const box = sandbox({ autoPay: true });
    await box.registerWebhook();
    const small = await box.createCob("10.00");
    const large = await box.createCob("10.01");
    const token = await box.token();
    expect((await box.call("GET", `/v2/cob/${small.txid}`, { token })).json.status).toBe("CONCLUIDA");
    expect((await box.call("GET", `/v2/cob/${large.txid}`, { token })).json.status).toBe("ATIVA");
    expect(box.hooks.about(small.txid)).toHaveLength(1);
    expect(box.hooks.about(large.txid)).toHaveLength(0);
    const row = await env.EFI_SANDBOX_DB.prepare("SELECT valor_cents FROM pix_received WHERE txid = ?")
      .bind(small.txid)
      .first<{ valor_cents: number }>();
    expect(row?.valor_cents).toBe(1000);
  });
});
