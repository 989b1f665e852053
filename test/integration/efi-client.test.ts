import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createSandbox } from "../../sandbox/efi/src/app";
import { LOCAL_CARD_REFUSED_TOKEN, LocalCardProvider } from "../../src/integrations/card/provider";
import {
  clearEfiTokenCache,
  createEfiCardProvider,
  createEfiClient,
  type EfiClientOptions,
  EfiError,
  efiWebhookUrl,
  parseEfiError,
} from "../../src/integrations/efi";

// A scripted fake of Efí's API Pix and Cobranças API, in process: it keeps what was created by
// our own ids, records every request that reached it, and can be told to fail the next matching
// request (before or after applying it) with a status, a timeout or a network error.

const PIX_KEY = "2b9d6c1e-7f3a-4c5d-9e8f-0a1b2c3d4e5f";
const FAVORED_KEY = "efipay@sejaefi.com.br";
const CLIENT_ID = "Client_Id_test";
const CLIENT_SECRET = "Client_Secret_test";
const BASE_URL = "https://pix.efi.test";
const E2E_ID = "E09089356202611201200API1a2b3c4d";

type Fault =
  | { status: number; body?: unknown; headers?: Record<string, string>; apply?: boolean }
  | { timeout: true; apply?: boolean }
  | { networkError: true };

interface Recorded {
  method: string;
  path: string;
  authorization: string | null;
  headers: Headers;
  body: any;
}

function json(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "x-request-id": crypto.randomUUID(),
      ...headers,
    },
  });
}

const legacy = (nome: string, mensagem: string, erros?: unknown[]) => ({
  nome,
  mensagem,
  ...(erros ? { erros } : {}),
});

function createFakeEfi(options: { expiresIn?: number | string } = {}) {
  const requests: Recorded[] = [];
  const faults: { method: string; prefix: string; fault: Fault }[] = [];
  const validTokens = new Set<string>();
  const charges = new Map<string, any>();
  const sends = new Map<string, any>();
  const refunds = new Map<string, any>();
  const cardCharges: any[] = [];
  let tokens = 0;
  let nextLoc = 100;

  const bearerOk = (auth: string | null) => auth?.startsWith("Bearer ") && validTokens.has(auth.slice(7));

  /** The fake's own behaviour, as Efí documents it. */
  function handle(method: string, path: string, auth: string | null, body: any): Response {
    if (method === "POST" && (path === "/oauth/token" || path === "/v1/authorize")) {
      if (
        auth !== `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}` ||
        body?.grant_type !== "client_credentials"
      ) {
        return json(401, { error: "invalid_client", error_description: "Invalid or inactive credentials" });
      }
      tokens += 1;
      const token = `${path === "/v1/authorize" ? "cob" : "pix"}-token-${tokens}`;
      validTokens.add(token);
      return json(200, {
        access_token: token,
        token_type: "Bearer",
        expires_in: path === "/v1/authorize" ? 600 : (options.expiresIn ?? 3600),
        scope: "cob.write cob.read pix.send pix.write pix.read gn.pix.send.read webhook.write",
      });
    }
    if (!bearerOk(auth)) return new Response(null, { status: 401 }); // UNCONFIRMED body: none

    const route = (pattern: RegExp, only?: string) => (only && method !== only ? null : path.match(pattern));
    const cobPath = route(/^\/v2\/cob\/(\w+)$/);
    if (cobPath) {
      const txid = cobPath[1] as string;
      if (method === "PUT") {
        if (charges.has(txid))
          return json(
            409,
            legacy("txid_duplicado", "Campo txid informado já foi utilizado em outra cobrança"),
          );
        if (body.valor.original === "0.00") {
          return json(
            400,
            legacy("valor_invalido", "O valor deve ser maior que zero", [
              { chave: "minimum", caminho: ".body.valor.original", mensagem: "deve ser maior que zero" },
            ]),
          );
        }
        const locId = nextLoc++;
        const location = `qrcodespix-h.sejaefi.com.br/v2/${txid.toLowerCase().padEnd(32, "0").slice(0, 32)}`;
        const cob = {
          calendario: { criacao: "2026-11-20T12:00:00.000Z", expiracao: body.calendario.expiracao },
          txid,
          revisao: 0,
          status: "ATIVA",
          valor: body.valor,
          chave: body.chave,
          ...(body.devedor ? { devedor: body.devedor } : {}),
          loc: { id: locId, location, tipoCob: "cob", criacao: "2026-11-20T12:00:00.000Z" },
          location,
          pixCopiaECola: `00020101021226850014BR.GOV.BCB.PIX2563${location}5204000053039865802BR5905EFISA6008SAOPAULO62070503***6304ABCD`,
        };
        charges.set(txid, cob);
        return json(201, cob);
      }
      const cob = charges.get(txid);
      return cob
        ? json(200, cob)
        : json(400, legacy("cobranca_nao_encontrada", "Nenhuma cobrança encontrada para o txid informado"));
    }
    const locPath = route(/^\/v2\/loc\/(\d+)\/qrcode$/);
    if (locPath) {
      const cob = [...charges.values()].find((c) => c.loc.id === Number(locPath?.[1]));
      if (!cob) return json(400, legacy("location_nao_encontrada", "Location não encontrada"));
      return json(200, {
        qrcode: cob.pixCopiaECola,
        imagemQrcode: "data:image/png;base64,iVBORw0KGgo=",
        linkVisualizacao: "https://pix.sejaefi.com.br/cob/pagar/abc",
      });
    }
    const sendPath = route(/^\/v3\/gn\/pix\/(\w+)$/, "PUT");
    if (sendPath) {
      const idEnvio = sendPath[1] as string;
      if (sends.has(idEnvio))
        return json(409, legacy("id_envio_duplicado", "O idEnvio informado já foi utilizado"));
      const send = {
        idEnvio,
        e2eId: `E09089356202611201200API${String(sends.size).padStart(8, "0")}`,
        valor: body.valor,
        horario: { solicitacao: "2026-11-20T12:00:00.000Z" },
        status: "EM_PROCESSAMENTO",
        favored: body.favorecido.chave,
      };
      sends.set(idEnvio, send);
      const { favored: _favored, ...reply } = send;
      return json(201, reply);
    }
    const sentPath = route(/^\/v2\/gn\/pix\/enviados\/id-envio\/(\w+)$/);
    if (sentPath) {
      const send = sends.get(sentPath[1] as string);
      if (!send) {
        return json(404, {
          type: "https://pix.bcb.gov.br/api/v2/error/PixEnviadoNaoEncontrado",
          title: "Não Encontrado",
          status: 404,
          detail: "Pix enviado não encontrado para o idEnvio informado",
        });
      }
      return json(200, {
        endToEndId: send.e2eId,
        idEnvio: send.idEnvio,
        valor: send.valor,
        chave: PIX_KEY,
        status: "REALIZADO",
        horario: { solicitacao: send.horario.solicitacao, liquidacao: "2026-11-20T12:00:03.000Z" },
        favorecido: { chave: send.favored, identificacao: { nome: "Efi", cnpj: "**.***.***/0001-**" } },
      });
    }
    const refundPath = route(/^\/v2\/pix\/(\w+)\/devolucao\/(\w+)$/);
    if (refundPath) {
      const key = `${refundPath[1]}/${refundPath[2]}`;
      if (method === "PUT") {
        if (refunds.has(key))
          return json(409, legacy("devolucao_id_duplicado", "O id da devolução já foi utilizado"));
        const refund = {
          id: refundPath[2],
          rtrId: `D09089356202611201200${String(refunds.size).padStart(11, "0")}`,
          valor: body.valor,
          horario: { solicitacao: "2026-11-20T12:00:00.000Z" },
          status: "EM_PROCESSAMENTO",
        };
        refunds.set(key, refund);
        return json(201, refund);
      }
      const refund = refunds.get(key);
      return refund
        ? json(200, refund)
        : json(400, legacy("devolucao_nao_encontrada", "Devolução não encontrada"));
    }
    const webhookPath = route(/^\/v2\/webhook\/(.+)$/, "PUT");
    if (webhookPath) {
      return json(200, { webhookUrl: body.webhookUrl });
    }
    if (path === "/v1/charge/one-step" && method === "POST") {
      cardCharges.push(body);
      const chargeId = 40_000 + cardCharges.length;
      const token: string = body.payment.credit_card.payment_token;
      if (token.endsWith("2")) {
        return json(200, {
          code: 200,
          data: {
            installments: 1,
            installment_value: body.items[0].value,
            charge_id: chargeId,
            status: "unpaid",
            total: body.items[0].value,
            payment: "credit_card",
            refusal: { reason: "Transação recusada por motivos de segurança.", retry: false },
          },
        });
      }
      if (!body.payment.credit_card.customer.cpf) {
        return json(400, {
          code: 3500034,
          error: "validation_error",
          error_description: {
            property: "/payment/credit_card/customer/cpf",
            message: "Propriedade obrigatória",
          },
        });
      }
      return json(200, {
        code: 200,
        data: {
          installments: 1,
          installment_value: body.items[0].value,
          charge_id: chargeId,
          status: "approved",
          total: body.items[0].value,
          payment: "credit_card",
        },
      });
    }
    const cardRefundPath = route(/^\/v1\/charge\/card\/(\d+)\/refund$/, "POST");
    if (cardRefundPath) {
      return json(200, { code: 200 });
    }
    return json(404, {
      type: "https://pix.bcb.gov.br/api/v2/error/NaoEncontrado",
      title: "Não Encontrado",
      status: 404,
      detail: path,
    });
  }

  async function fetch(input: string, init: RequestInit): Promise<Response> {
    const url = new URL(input);
    const method = init.method ?? "GET";
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    requests.push({ method, path: url.pathname, authorization: headers.get("authorization"), headers, body });
    const at = faults.findIndex((f) => f.method === method && url.pathname.startsWith(f.prefix));
    const fault = at === -1 ? undefined : faults.splice(at, 1)[0]?.fault;
    if (!fault) return handle(method, url.pathname, headers.get("authorization"), body);
    if ("networkError" in fault) throw new TypeError("Network connection lost.");
    if (fault.apply) handle(method, url.pathname, headers.get("authorization"), body);
    if ("timeout" in fault) {
      // Hang like a slow server until the client gives up.
      return new Promise((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true });
      });
    }
    return json(fault.status, fault.body ?? legacy("erro_aplicacao", "Erro interno"), fault.headers);
  }

  return {
    fetch,
    requests,
    charges,
    sends,
    refunds,
    cardCharges,
    /** The next request matching method and path prefix meets `fault`. */
    failNext(method: string, prefix: string, fault: Fault) {
      faults.push({ method, prefix, fault });
    },
    /** Efí forgets every token (expired or revoked server-side). */
    revokeTokens() {
      validTokens.clear();
    },
    get tokenRequests() {
      return requests.filter((r) => r.path === "/oauth/token" || r.path === "/v1/authorize").length;
    },
    calls(method: string, prefix: string) {
      return requests.filter((r) => r.method === method && r.path.startsWith(prefix));
    },
  };
}

type FakeEfi = ReturnType<typeof createFakeEfi>;

const START = Date.parse("2026-11-20T12:00:00Z");

function setup(
  fakeOptions: { expiresIn?: number | string } = {},
  clientOptions: Partial<EfiClientOptions> = {},
) {
  const fake = createFakeEfi(fakeOptions);
  let nowMs = START;
  const sleeps: number[] = [];
  const hooks: { onSleep?: () => void } = {};
  const now = () => new Date(nowMs);
  const client = createEfiClient({
    baseUrl: BASE_URL,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    pixKey: PIX_KEY,
    fetch: fake.fetch,
    now,
    sleep: async (ms) => {
      sleeps.push(ms);
      hooks.onSleep?.();
    },
    random: () => 0.5,
    timeoutMs: 50,
    retry: { attempts: 3, baseDelayMs: 100 },
    ...clientOptions,
  });
  return {
    fake,
    client,
    sleeps,
    hooks,
    now,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

let seq = 0;
/** A fresh txid (26–35 alphanumerics), as our payment ids would give. */
const txid = () => `ride${String(++seq).padStart(4, "0")}${"a".repeat(24)}`;

async function expectEfiError(promise: Promise<unknown>): Promise<EfiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EfiError);
  return error as EfiError;
}

beforeEach(() => {
  clearEfiTokenCache();
});

describe("OAuth token", () => {
  it("is fetched once with Basic credentials and reused across calls and clients of the isolate", async () => {
    const { fake, client, now } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 1234, expiresInSeconds: 3600 });
    await client.getCharge(id);
    // A second client in the same isolate (the next request) shares the cache.
    const other = createEfiClient({
      baseUrl: BASE_URL,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      pixKey: PIX_KEY,
      fetch: fake.fetch,
      now,
    });
    await other.getCharge(id);

    expect(fake.tokenRequests).toBe(1);
    const [tokenRequest] = fake.calls("POST", "/oauth/token");
    expect(tokenRequest?.authorization).toBe(`Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`);
    expect(tokenRequest?.body).toEqual({ grant_type: "client_credentials" });
    for (const r of fake.requests.filter((r) => !r.path.startsWith("/oauth"))) {
      expect(r.authorization).toBe("Bearer pix-token-1");
    }
  });

  it("is cached per client id: another application's credentials get their own token", async () => {
    const { fake, client, now } = setup();
    await client.getCharge(txid()).catch(() => undefined);
    const other = createEfiClient({
      baseUrl: BASE_URL,
      clientId: "Client_Id_other",
      clientSecret: CLIENT_SECRET,
      pixKey: PIX_KEY,
      fetch: fake.fetch,
      now,
    });
    await expect(other.getCharge(txid())).rejects.toMatchObject({ kind: "oauth", code: "invalid_client" });
    expect(fake.tokenRequests).toBe(2);
  });

  it("is refreshed 60 s before it expires, not after", async () => {
    const { fake, client, advance } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 500, expiresInSeconds: 600 });
    advance((3600 - 60) * 1000 - 1);
    await client.getCharge(id);
    expect(fake.tokenRequests).toBe(1);

    advance(1);
    await client.getCharge(id);
    expect(fake.tokenRequests).toBe(2);
    expect(fake.requests.at(-1)?.authorization).toBe("Bearer pix-token-2");
  });

  it("accepts expires_in as a numeric string", async () => {
    const { fake, client, advance } = setup({ expiresIn: "120" });
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 500, expiresInSeconds: 600 });
    advance(59_000); // a 120 s token is refreshed at half its life
    await client.getCharge(id);
    expect(fake.tokenRequests).toBe(1);
    advance(1_000);
    await client.getCharge(id);
    expect(fake.tokenRequests).toBe(2);
  });

  it("is requested once for concurrent calls of one client", async () => {
    const { fake, client } = setup();
    const ids = [txid(), txid(), txid()];
    await Promise.all(
      ids.map((id) => client.createCharge({ txid: id, amountCents: 700, expiresInSeconds: 600 })),
    );
    expect(fake.tokenRequests).toBe(1);
    expect(fake.charges.size).toBe(3);
  });

  it("an expired token (401 with no body) is refreshed once and the call succeeds", async () => {
    const { fake, client, sleeps } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 900, expiresInSeconds: 600 });
    fake.revokeTokens();

    const again = txid();
    const charge = await client.createCharge({ txid: again, amountCents: 901, expiresInSeconds: 600 });

    expect(charge.txid).toBe(again);
    expect(fake.tokenRequests).toBe(2);
    expect(fake.calls("PUT", `/v2/cob/${again}`)).toHaveLength(2); // 401, then 201
    expect(fake.charges.size).toBe(2);
    expect(sleeps).toEqual([]); // a re-authentication is not a backoff retry
  });

  it("a second 401 is not chased: one re-authentication, then the error", async () => {
    const { fake, client } = setup();
    fake.failNext("GET", "/v2/cob/", { status: 401, body: "" });
    fake.failNext("GET", "/v2/cob/", { status: 401, body: "" });
    const error = await expectEfiError(client.getCharge(txid()));
    expect(error).toMatchObject({ status: 401, kind: "unknown", code: "unauthorized" });
    expect(fake.tokenRequests).toBe(2);
    expect(fake.calls("GET", "/v2/cob/")).toHaveLength(2);
  });

  it("refused credentials fail at once, with the OAuth error and no retry", async () => {
    const { fake, client } = setup({}, { clientSecret: "wrong" });
    const error = await expectEfiError(client.getCharge(txid()));
    expect(error).toMatchObject({ status: 401, kind: "oauth", code: "invalid_client" });
    expect(fake.requests).toHaveLength(1);
  });

  it("a token request that times out is not retried", async () => {
    const { fake, client } = setup();
    fake.failNext("POST", "/oauth/token", { timeout: true });
    const error = await expectEfiError(client.getCharge(txid()));
    expect(error).toMatchObject({ status: 0, code: "timeout", outcomeUnknown: true });
    expect(fake.requests).toHaveLength(1);
  });
});

describe("the injected fetch", () => {
  it("is called as a plain function, as workerd's global fetch demands (else: Illegal invocation)", async () => {
    const fake = createFakeEfi();
    // Like workerd's `fetch`: refuses to run as a method of another object.
    function strictFetch(this: unknown, input: string, init: RequestInit): Promise<Response> {
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      return fake.fetch(input, init);
    }
    const client = createEfiClient({
      baseUrl: BASE_URL,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      pixKey: PIX_KEY,
      fetch: strictFetch,
    });
    const charge = await client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 });
    expect(charge.amountCents).toBe(100);
  });
});

describe("createCharge", () => {
  it("PUTs our txid with the amount as Efí's string and returns centavos", async () => {
    const { fake, client } = setup();
    const id = txid();
    const charge = await client.createCharge({
      txid: id,
      amountCents: 1234,
      expiresInSeconds: 900,
      debtor: { name: "Maria Passageira", cpf: "52998224725" },
      payerInfo: "Corrida ride_01",
      infoAdicionais: [{ nome: "Corrida", valor: "ride_01" }],
    });

    const [put] = fake.calls("PUT", "/v2/cob/");
    expect(put?.path).toBe(`/v2/cob/${id}`);
    expect(put?.body).toEqual({
      calendario: { expiracao: 900 },
      devedor: { cpf: "52998224725", nome: "Maria Passageira" },
      valor: { original: "12.34" },
      chave: PIX_KEY,
      solicitacaoPagador: "Corrida ride_01",
      infoAdicionais: [{ nome: "Corrida", valor: "ride_01" }],
    });
    expect(put?.headers.get("content-type")).toBe("application/json");
    expect(charge).toMatchObject({
      txid: id,
      status: "ATIVA",
      amountCents: 1234,
      pixKey: PIX_KEY,
      expiresInSeconds: 900,
      revision: 0,
      payments: [],
    });
    expect(charge.locId).toEqual(expect.any(Number));
    expect(charge.pixCopiaECola).toMatch(/^000201/);
  });

  it("Efí answering 500 is retried with backoff, and only one charge exists", async () => {
    const { fake, client, sleeps } = setup();
    const id = txid();
    fake.failNext("PUT", "/v2/cob/", { status: 500 });
    const charge = await client.createCharge({ txid: id, amountCents: 2500, expiresInSeconds: 600 });

    expect(charge).toMatchObject({ txid: id, amountCents: 2500 });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
    expect(fake.charges.size).toBe(1);
    expect(sleeps).toEqual([75]); // attempt 1: d = 100 ms, jitter in [50, 100], random 0.5
  });

  it("a 500 after Efí created the charge: the retry meets 409 and returns the charge by reading it", async () => {
    const { fake, client } = setup();
    const id = txid();
    fake.failNext("PUT", "/v2/cob/", { status: 500, apply: true });
    const charge = await client.createCharge({ txid: id, amountCents: 2500, expiresInSeconds: 600 });

    expect(charge).toMatchObject({ txid: id, amountCents: 2500, status: "ATIVA", pixKey: PIX_KEY });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
    expect(fake.calls("GET", `/v2/cob/${id}`)).toHaveLength(1);
    expect(fake.charges.size).toBe(1);
  });

  it("a timeout before Efí saw the charge: retried, one charge", async () => {
    const { fake, client, sleeps } = setup();
    const id = txid();
    fake.failNext("PUT", "/v2/cob/", { timeout: true });
    const charge = await client.createCharge({ txid: id, amountCents: 3100, expiresInSeconds: 600 });
    expect(charge.amountCents).toBe(3100);
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
    expect(fake.charges.size).toBe(1);
    expect(sleeps).toHaveLength(1);
  });

  it("a timeout after Efí created the charge (reply lost): 409 on retry, resolved by reading, one charge", async () => {
    const { fake, client } = setup();
    const id = txid();
    fake.failNext("PUT", "/v2/cob/", { timeout: true, apply: true });
    const charge = await client.createCharge({ txid: id, amountCents: 3100, expiresInSeconds: 600 });
    expect(charge).toMatchObject({ txid: id, amountCents: 3100 });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
    expect(fake.calls("GET", "/v2/cob/")).toHaveLength(1);
    expect(fake.charges.size).toBe(1);
  });

  it("a network error is retried like a timeout", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v2/cob/", { networkError: true });
    await client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
    expect(fake.charges.size).toBe(1);
  });

  it("a 429 is retried, waiting at least Retry-After", async () => {
    const { fake, client, sleeps } = setup(
      {},
      { retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 } },
    );
    fake.failNext("PUT", "/v2/cob/", {
      status: 429,
      body: {
        type: "https://pix.bcb.gov.br/api/v2/error/BaldeFichasVazio",
        title: "Balde vazio",
        status: 429,
      },
      headers: { "retry-after": "2" },
    });
    await client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 });
    expect(sleeps).toEqual([2_000]);
    expect(fake.charges.size).toBe(1);
  });

  it("gives up after the configured attempts with Efí's error, outcome unknown", async () => {
    const { fake, client, sleeps } = setup();
    for (let i = 0; i < 3; i += 1) fake.failNext("PUT", "/v2/cob/", { status: 503 });
    const error = await expectEfiError(
      client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({
      status: 503,
      kind: "legacy",
      code: "erro_aplicacao",
      outcomeUnknown: true,
      transient: true,
    });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(3);
    expect(sleeps).toEqual([75, 150]); // exponential: d = 100, 200
  });

  it("gives up after repeated timeouts with a status-0 timeout error", async () => {
    const { fake, client } = setup({}, { retry: { attempts: 2, baseDelayMs: 1 } });
    fake.failNext("PUT", "/v2/cob/", { timeout: true });
    fake.failNext("PUT", "/v2/cob/", { timeout: true });
    const error = await expectEfiError(
      client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({ status: 0, kind: "unknown", code: "timeout", outcomeUnknown: true });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(2);
  });

  it("a token failure after an uncertain try reports the uncertain failure, not the token's", async () => {
    const { fake, client, advance, hooks } = setup();
    await client.getCharge(txid()).catch(() => undefined); // caches a token
    fake.failNext("PUT", "/v2/cob/", { status: 500, apply: true });
    fake.failNext("POST", "/oauth/token", {
      status: 403,
      body: { error: "insufficient_scope", error_description: "Access token has insufficient scope" },
    });
    hooks.onSleep = () => advance(3600 * 1000); // the token expires during the backoff
    const id = txid();
    const error = await expectEfiError(
      client.createCharge({ txid: id, amountCents: 100, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({ status: 500, code: "erro_aplicacao", outcomeUnknown: true });
    expect(fake.charges.has(id)).toBe(true);
  });

  it("a 409 on the first try is an error: the txid was used before, and nothing is read back", async () => {
    const { fake, client } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 100, expiresInSeconds: 60 });
    const error = await expectEfiError(
      client.createCharge({ txid: id, amountCents: 100, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({ status: 409, kind: "legacy", code: "txid_duplicado" });
    expect(fake.calls("GET", "/v2/cob/")).toHaveLength(0);
  });

  it("a 409 on retry for a charge that is not ours (another amount) stays an error", async () => {
    const { fake, client } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 100, expiresInSeconds: 60 });
    fake.failNext("PUT", "/v2/cob/", { status: 500 });
    const error = await expectEfiError(
      client.createCharge({ txid: id, amountCents: 999, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({ status: 409, code: "txid_duplicado" });
    expect(fake.calls("GET", "/v2/cob/")).toHaveLength(1);
    expect(fake.charges.get(id)?.valor.original).toBe("1.00");
  });

  it("a 400 is never retried", async () => {
    const { fake, client, sleeps } = setup();
    fake.failNext("PUT", "/v2/cob/", {
      status: 400,
      body: legacy("valor_invalido", "O valor deve ser maior que zero", [
        { chave: "minimum", caminho: ".body.valor.original", mensagem: "deve ser maior que zero" },
      ]),
    });
    const error = await expectEfiError(
      client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 60 }),
    );
    expect(error).toMatchObject({
      status: 400,
      kind: "legacy",
      code: "valor_invalido",
      detail: "O valor deve ser maior que zero",
      violations: [{ path: ".body.valor.original", message: "deve ser maior que zero" }],
      transient: false,
    });
    expect(fake.calls("PUT", "/v2/cob/")).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("refuses bad input before calling Efí", async () => {
    const { fake, client } = setup();
    await expect(
      client.createCharge({ txid: "short", amountCents: 100, expiresInSeconds: 60 }),
    ).rejects.toThrow(TypeError);
    await expect(client.createCharge({ txid: txid(), amountCents: 0, expiresInSeconds: 60 })).rejects.toThrow(
      TypeError,
    );
    await expect(
      client.createCharge({ txid: txid(), amountCents: 1.5, expiresInSeconds: 60 }),
    ).rejects.toThrow(TypeError);
    await expect(
      client.createCharge({ txid: txid(), amountCents: 100, expiresInSeconds: 0 }),
    ).rejects.toThrow(TypeError);
    expect(fake.requests).toHaveLength(0);
  });

  it("an answer that does not parse is an invalid_response error, not a crash", async () => {
    const { fake, client } = setup();
    fake.failNext("GET", "/v2/cob/", { status: 200, body: { txid: "x", valor: { original: "12.3" } } });
    const error = await expectEfiError(client.getCharge(txid()));
    expect(error).toMatchObject({ status: 200, kind: "unknown", code: "invalid_response" });
  });
});

describe("reading charges and QR codes", () => {
  it("reads a paid charge with its Pix and refunds in centavos", async () => {
    const { fake, client } = setup();
    const id = txid();
    fake.failNext("GET", "/v2/cob/", {
      status: 200,
      body: {
        calendario: { criacao: "2026-11-20T12:00:00.000Z", expiracao: "3600" },
        txid: id,
        revisao: 1,
        status: "CONCLUIDA",
        valor: { original: "13.50" },
        chave: PIX_KEY,
        loc: { id: 7, location: "qrcodespix-h.sejaefi.com.br/v2/abc", tipoCob: "cob" },
        location: "qrcodespix-h.sejaefi.com.br/v2/abc",
        pixCopiaECola: "000201...",
        pix: [
          {
            endToEndId: E2E_ID,
            txid: id,
            valor: "13.50",
            horario: "2026-11-20T12:01:00.000Z",
            devolucoes: [
              {
                id: "refund1",
                rtrId: "D09089356202611201202abcdefghijk",
                valor: "1.50",
                horario: { solicitacao: "2026-11-20T12:02:00.000Z" },
                status: "EM_PROCESSAMENTO",
              },
            ],
          },
        ],
      },
    });
    const charge = await client.getCharge(id);
    expect(charge).toMatchObject({
      status: "CONCLUIDA",
      amountCents: 1350,
      expiresInSeconds: 3600,
      revision: 1,
      locId: 7,
      payments: [
        {
          e2eId: E2E_ID,
          amountCents: 1350,
          paidAt: "2026-11-20T12:01:00.000Z",
          refunds: [{ refundId: "refund1", amountCents: 150, status: "EM_PROCESSAMENTO", settledAt: null }],
        },
      ],
    });
  });

  it("a GET is retried after a 500", async () => {
    const { fake, client } = setup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 100, expiresInSeconds: 60 });
    fake.failNext("GET", "/v2/cob/", { status: 500 });
    expect((await client.getCharge(id)).txid).toBe(id);
    expect(fake.calls("GET", "/v2/cob/")).toHaveLength(2);
  });

  it("an unknown charge is a not-found error, whether Efí says 400 or 404", async () => {
    const { fake, client } = setup();
    const legacyNotFound = await expectEfiError(client.getCharge(txid()));
    expect(legacyNotFound).toMatchObject({ status: 400, code: "cobranca_nao_encontrada", notFound: true });

    fake.failNext("GET", "/v2/cob/", {
      status: 404,
      body: {
        type: "https://pix.bcb.gov.br/api/v2/error/NaoEncontrado",
        title: "Não Encontrado",
        status: 404,
      },
    });
    const bcbNotFound = await expectEfiError(client.getCharge(txid()));
    expect(bcbNotFound).toMatchObject({ status: 404, kind: "bcb", code: "NaoEncontrado", notFound: true });
  });

  it("gets the QR code of a charge's location", async () => {
    const { client } = setup();
    const charge = await client.createCharge({ txid: txid(), amountCents: 1000, expiresInSeconds: 60 });
    const qr = await client.getQrCode(charge.locId as number);
    expect(qr).toEqual({
      qrcode: charge.pixCopiaECola,
      imageDataUri: "data:image/png;base64,iVBORw0KGgo=",
      link: "https://pix.sejaefi.com.br/cob/pagar/abc",
    });
    const error = await expectEfiError(client.getQrCode(99_999));
    expect(error).toMatchObject({ code: "location_nao_encontrada", notFound: true });
  });
});

describe("sendPix", () => {
  it("PUTs our idEnvio from our key to the favored key, amount as a string", async () => {
    const { fake, client } = setup();
    const send = await client.sendPix({
      idEnvio: "payout01abc",
      amountCents: 990,
      favoredKey: FAVORED_KEY,
      favoredDocument: { cpf: "52998224725" },
      payerInfo: "Repasse",
    });
    const [put] = fake.calls("PUT", "/v3/gn/pix/");
    expect(put?.path).toBe("/v3/gn/pix/payout01abc");
    expect(put?.body).toEqual({
      valor: "9.90",
      pagador: { chave: PIX_KEY, infoPagador: "Repasse" },
      favorecido: { chave: FAVORED_KEY, cpf: "52998224725" },
    });
    expect(send).toMatchObject({ idEnvio: "payout01abc", amountCents: 990, status: "EM_PROCESSAMENTO" });
    expect(send.e2eId).toMatch(/^E09089356/);
  });

  it("a 500 after Efí accepted the send: the retry's 409 is resolved by reading the send, one send", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v3/gn/pix/", { status: 500, apply: true });
    const send = await client.sendPix({ idEnvio: "payout02", amountCents: 500, favoredKey: FAVORED_KEY });
    expect(send).toMatchObject({
      idEnvio: "payout02",
      amountCents: 500,
      status: "REALIZADO",
      favoredKey: FAVORED_KEY,
    });
    expect(fake.calls("PUT", "/v3/gn/pix/")).toHaveLength(2);
    expect(fake.calls("GET", "/v2/gn/pix/enviados/id-envio/payout02")).toHaveLength(1);
    expect(fake.sends.size).toBe(1);
  });

  it("a timeout before Efí saw the send: retried, one send", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v3/gn/pix/", { timeout: true });
    await client.sendPix({ idEnvio: "payout03", amountCents: 500, favoredKey: FAVORED_KEY });
    expect(fake.calls("PUT", "/v3/gn/pix/")).toHaveLength(2);
    expect(fake.sends.size).toBe(1);
  });

  it("a 409 on retry for another recipient stays an error", async () => {
    const { fake, client } = setup();
    await client.sendPix({ idEnvio: "payout04", amountCents: 500, favoredKey: FAVORED_KEY });
    fake.failNext("PUT", "/v3/gn/pix/", { status: 502 });
    const error = await expectEfiError(
      client.sendPix({ idEnvio: "payout04", amountCents: 500, favoredKey: "other@example.com" }),
    );
    expect(error).toMatchObject({ status: 409, code: "id_envio_duplicado" });
  });

  it("a refusal (422 pagamento_negado) is not retried", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v3/gn/pix/", {
      status: 422,
      body: legacy("pagamento_negado", "Pagamento negado por análises"),
    });
    const error = await expectEfiError(
      client.sendPix({ idEnvio: "payout05", amountCents: 500, favoredKey: FAVORED_KEY }),
    );
    expect(error).toMatchObject({
      status: 422,
      kind: "legacy",
      code: "pagamento_negado",
      outcomeUnknown: false,
    });
    expect(fake.calls("PUT", "/v3/gn/pix/")).toHaveLength(1);
  });

  it("reads a send's status by idEnvio; an unknown one is a BCB-shaped 404", async () => {
    const { client } = setup();
    await client.sendPix({ idEnvio: "payout06", amountCents: 700, favoredKey: FAVORED_KEY });
    expect(await client.getPixSend("payout06")).toMatchObject({
      idEnvio: "payout06",
      amountCents: 700,
      status: "REALIZADO",
      settledAt: "2026-11-20T12:00:03.000Z",
    });
    const error = await expectEfiError(client.getPixSend("nope"));
    expect(error).toMatchObject({
      status: 404,
      kind: "bcb",
      code: "PixEnviadoNaoEncontrado",
      detail: "Pix enviado não encontrado para o idEnvio informado",
      notFound: true,
    });
  });
});

describe("refund", () => {
  it("PUTs our refund id under the e2eId, amount as a string", async () => {
    const { fake, client } = setup();
    const refund = await client.refund({ e2eId: E2E_ID, refundId: "dev01", amountCents: 250 });
    const [put] = fake.calls("PUT", "/v2/pix/");
    expect(put?.path).toBe(`/v2/pix/${E2E_ID}/devolucao/dev01`);
    expect(put?.body).toEqual({ valor: "2.50" });
    expect(refund).toMatchObject({ refundId: "dev01", amountCents: 250, status: "EM_PROCESSAMENTO" });
    expect(refund.rtrId).toMatch(/^D/);
  });

  it("a timeout after Efí took the refund: 409 on retry, resolved by reading the refund, one refund", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v2/pix/", { timeout: true, apply: true });
    const refund = await client.refund({ e2eId: E2E_ID, refundId: "dev02", amountCents: 250 });
    expect(refund).toMatchObject({ refundId: "dev02", amountCents: 250 });
    expect(fake.calls("PUT", "/v2/pix/")).toHaveLength(2);
    expect(fake.calls("GET", "/v2/pix/")).toHaveLength(1);
    expect(fake.refunds.size).toBe(1);
  });

  it("a 500 before Efí took the refund: retried, one refund", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v2/pix/", { status: 500 });
    await client.refund({ e2eId: E2E_ID, refundId: "dev03", amountCents: 250 });
    expect(fake.calls("PUT", "/v2/pix/")).toHaveLength(2);
    expect(fake.refunds.size).toBe(1);
  });

  it("a refund id used before, on the first try, is devolucao_id_duplicado", async () => {
    const { client } = setup();
    await client.refund({ e2eId: E2E_ID, refundId: "dev04", amountCents: 250 });
    const error = await expectEfiError(client.refund({ e2eId: E2E_ID, refundId: "dev04", amountCents: 250 }));
    expect(error).toMatchObject({ status: 409, code: "devolucao_id_duplicado" });
  });
});

describe("registerWebhook", () => {
  it("PUTs our URL for our key with x-skip-mtls-checking", async () => {
    const { fake, client } = setup();
    const url = efiWebhookUrl("https://api.example.com.br", "s3cr3t/+=");
    expect(url).toBe("https://api.example.com.br/webhooks/efi/pix?hmac=s3cr3t%2F%2B%3D&ignorar=");
    expect(await client.registerWebhook(url)).toEqual({ pixKey: PIX_KEY, webhookUrl: url });
    const [put] = fake.calls("PUT", "/v2/webhook/");
    expect(put?.path).toBe(`/v2/webhook/${PIX_KEY}`);
    expect(put?.headers.get("x-skip-mtls-checking")).toBe("true");
    expect(put?.body).toEqual({ webhookUrl: url });
  });

  it("accepts 201 with any body and encodes the key", async () => {
    const { fake, client } = setup();
    fake.failNext("PUT", "/v2/webhook/", { status: 201, body: "" });
    await client.registerWebhook("https://h/webhooks/efi/pix?hmac=x&ignorar=", { pixKey: "+5511987654321" });
    expect(fake.calls("PUT", "/v2/webhook/")[0]?.path).toBe("/v2/webhook/%2B5511987654321");
  });
});

describe("Efí's four error shapes become one EfiError", () => {
  it.each([
    {
      shape: "legacy, with schema errors",
      status: 400,
      body: legacy("json_invalido", "Valores ou tipos de campo inválidos", [
        { chave: "enum", caminho: ".body.tipoCob", mensagem: "deve ser cob ou cobv" },
      ]),
      expected: {
        kind: "legacy",
        code: "json_invalido",
        message: "Efí 400 json_invalido: Valores ou tipos de campo inválidos",
        violations: [{ path: ".body.tipoCob", message: "deve ser cob ou cobv" }],
      },
    },
    {
      shape: "BCB RFC 7807 with violations",
      status: 400,
      body: {
        type: "https://pix.bcb.gov.br/api/v2/error/CobVOperacaoInvalida",
        title: "Cobrança inválida.",
        status: 400,
        detail: "A requisição que busca alterar ou criar uma cobrança não respeita o schema.",
        violacoes: [
          {
            razao: "O campo cobv.calendario.dataDeVencimento não respeita o schema.",
            propriedade: "cobv.calendario.dataDeVencimento",
          },
        ],
      },
      expected: {
        kind: "bcb",
        code: "CobVOperacaoInvalida",
        violations: [
          {
            path: "cobv.calendario.dataDeVencimento",
            message: "O campo cobv.calendario.dataDeVencimento não respeita o schema.",
          },
        ],
      },
    },
    {
      shape: "BCB 403 AcessoNegado",
      status: 403,
      body: {
        type: "https://pix.bcb.gov.br/api/v2/error/AcessoNegado",
        title: "Acesso Negado",
        status: 403,
        detail: "Requisição de participante autenticado que viola alguma regra de autorização.",
      },
      expected: { kind: "bcb", code: "AcessoNegado", violations: [] },
    },
    {
      shape: "OAuth",
      status: 403,
      body: { error: "insufficient_scope", error_description: "Access token has insufficient scope" },
      expected: {
        kind: "oauth",
        code: "insufficient_scope",
        message: "Efí 403 insufficient_scope: Access token has insufficient scope",
      },
    },
    {
      shape: "Cobranças, string description",
      status: 400,
      body: {
        code: 3500010,
        error: "property_does_not_exists",
        error_description: "A propriedade não existe",
      },
      expected: {
        kind: "cobrancas",
        code: "property_does_not_exists",
        providerCode: 3500010,
        violations: [],
      },
    },
    {
      shape: "Cobranças, object description",
      status: 400,
      body: {
        code: 3500034,
        error: "validation_error",
        error_description: { property: "/items/0/value", message: "deve ser inteiro" },
      },
      expected: {
        kind: "cobrancas",
        code: "validation_error",
        providerCode: 3500034,
        message: "Efí 400 validation_error: deve ser inteiro",
        violations: [{ path: "/items/0/value", message: "deve ser inteiro" }],
      },
    },
    {
      shape: "no body at all (401)",
      status: 401,
      body: undefined,
      expected: { kind: "unknown", code: "unauthorized" },
    },
    {
      shape: "an HTML page from a proxy",
      status: 502,
      body: "<html>Bad Gateway</html>",
      expected: { kind: "unknown", code: "server_error" },
    },
    { shape: "a JSON array", status: 418, body: [1, 2], expected: { kind: "unknown", code: "http_418" } },
  ])("$shape", ({ status, body, expected }) => {
    const error = parseEfiError(status, body, "req-1");
    expect(error).toBeInstanceOf(EfiError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ status, requestId: "req-1", ...expected });
  });

  it("the client surfaces each shape from a live answer, with Efí's request id", async () => {
    const { fake, client } = setup();
    fake.failNext("GET", "/v2/cob/", {
      status: 403,
      body: { error: "insufficient_scope", error_description: "Access token has insufficient scope" },
      headers: { "x-request-id": "efi-req-42" },
    });
    const error = await expectEfiError(client.getCharge(txid()));
    expect(error).toMatchObject({
      status: 403,
      kind: "oauth",
      code: "insufficient_scope",
      requestId: "efi-req-42",
    });
  });
});

describe("Efí card provider (Cobranças one-step)", () => {
  function card(fake: FakeEfi) {
    return createEfiCardProvider({
      baseUrl: "https://cobrancas.efi.test",
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      fetch: fake.fetch,
      timeoutMs: 50,
    });
  }
  const customer = {
    name: "Maria Passageira",
    cpf: "52998224725",
    email: "maria@example.com",
    phone: "+5511987654321",
    birthDate: "1990-05-20",
  };
  const billingAddress = {
    street: "Avenida Paulista",
    number: "1000",
    neighborhood: "Bela Vista",
    zipcode: "01310-100",
    city: "São Paulo",
    state: "SP",
  };

  it("charges with its own token and maps approved", async () => {
    const fake = createFakeEfi();
    const result = await card(fake).charge({
      amountCents: 1350,
      paymentToken: "tok_visa_4",
      customer,
      billingAddress,
      description: "Corrida ride_01",
      idempotencyKey: "pay_01",
    });
    expect(result).toEqual({ status: "approved", chargeId: "40001", totalCents: 1350 });
    expect(fake.calls("POST", "/v1/authorize")).toHaveLength(1);
    expect(fake.calls("POST", "/oauth/token")).toHaveLength(0);
    const [charge] = fake.calls("POST", "/v1/charge/one-step");
    expect(charge?.authorization).toBe("Bearer cob-token-1");
    expect(charge?.body).toEqual({
      items: [{ name: "Corrida ride_01", value: 1350, amount: 1 }],
      metadata: { custom_id: "pay_01" },
      payment: {
        credit_card: {
          customer: {
            name: "Maria Passageira",
            cpf: "52998224725",
            email: "maria@example.com",
            phone_number: "11987654321",
            birth: "1990-05-20",
          },
          installments: 1,
          payment_token: "tok_visa_4",
          billing_address: { ...billingAddress, zipcode: "01310100" },
        },
      },
    });
  });

  it("maps unpaid with a refusal to refused, with the reason", async () => {
    const fake = createFakeEfi();
    const result = await card(fake).charge({
      amountCents: 1350,
      paymentToken: "tok_2",
      customer,
      billingAddress,
      description: "x",
      idempotencyKey: "pay_02",
    });
    expect(result).toEqual({
      status: "refused",
      chargeId: "40001",
      reason: "Transação recusada por motivos de segurança.",
    });
  });

  it("never retries a charge: a 500 or a timeout fails with the outcome unknown after one POST", async () => {
    const fake = createFakeEfi();
    const provider = card(fake);
    fake.failNext("POST", "/v1/charge/one-step", { status: 500, apply: true });
    const error = await expectEfiError(
      provider.charge({
        amountCents: 100,
        paymentToken: "t",
        customer,
        billingAddress,
        description: "x",
        idempotencyKey: "pay_03",
      }),
    );
    expect(error).toMatchObject({ status: 500, outcomeUnknown: true });
    fake.failNext("POST", "/v1/charge/one-step", { timeout: true });
    const timeout = await expectEfiError(
      provider.charge({
        amountCents: 100,
        paymentToken: "t",
        customer,
        billingAddress,
        description: "x",
        idempotencyKey: "pay_04",
      }),
    );
    expect(timeout).toMatchObject({ status: 0, code: "timeout", outcomeUnknown: true });
    expect(fake.calls("POST", "/v1/charge/one-step")).toHaveLength(2);
  });

  it("re-authenticates once on a 401 (Efí did not apply the call) and Cobranças errors keep their shape", async () => {
    const fake = createFakeEfi();
    const provider = card(fake);
    await provider.charge({
      amountCents: 100,
      paymentToken: "t",
      customer,
      billingAddress,
      description: "x",
      idempotencyKey: "pay_05",
    });
    fake.revokeTokens();
    const error = await expectEfiError(
      provider.charge({
        amountCents: 100,
        paymentToken: "t",
        customer: { ...customer, cpf: "" },
        billingAddress,
        description: "x",
        idempotencyKey: "pay_06",
      }),
    );
    expect(error).toMatchObject({
      status: 400,
      kind: "cobrancas",
      code: "validation_error",
      providerCode: 3500034,
    });
    expect(fake.calls("POST", "/v1/authorize")).toHaveLength(2);
  });

  it("refunds all or part of a charge", async () => {
    const fake = createFakeEfi();
    const provider = card(fake);
    await provider.refund({ chargeId: "40001" });
    await provider.refund({ chargeId: "40001", amountCents: 500 });
    expect(fake.calls("POST", "/v1/charge/card/40001/refund").map((r) => r.body)).toEqual([
      {},
      { amount: 500 },
    ]);
  });
});

describe("LocalCardProvider (the fake for development and tests)", () => {
  const request = {
    amountCents: 100,
    customer: {
      name: "M",
      cpf: "52998224725",
      email: "m@example.com",
      phone: "+5511987654321",
      birthDate: "1990-01-01",
    },
    billingAddress: {
      street: "Rua A",
      number: "1",
      neighborhood: "Centro",
      zipcode: "01001000",
      city: "São Paulo",
      state: "SP",
    },
    description: "x",
    idempotencyKey: "pay_1",
  };

  it("approves, refuses on its refused token, and refuses to run in staging or production", async () => {
    const local = new LocalCardProvider("test");
    expect(await local.charge({ ...request, paymentToken: "tok_ok" })).toEqual({
      status: "approved",
      chargeId: "local_pay_1",
    });
    expect(await local.charge({ ...request, paymentToken: LOCAL_CARD_REFUSED_TOKEN })).toMatchObject({
      status: "refused",
    });
    for (const appEnv of ["staging", "production"] as const) {
      await expect(
        new LocalCardProvider(appEnv).charge({ ...request, paymentToken: "tok_ok" }),
      ).rejects.toThrow(/outside development/);
    }
  });
});

// The same client against the Efí sandbox (sandbox/efi), in process: the emulator's own D1 tables,
// its documented behaviour, and our faults injected between the two.

const SANDBOX = {
  clientId: "Client_Id_efi_sandbox",
  clientSecret: "Client_Secret_efi_sandbox",
  pixKey: "5f84a4c5-c5cb-4599-9f13-7eb4d419dacc",
};

describe("against the Efí sandbox (in process)", () => {
  // The sandbox's own database; test/setup.ts applies sandbox/efi/migrations to it.
  const db = env.EFI_SANDBOX_DB;

  function sandboxSetup() {
    const delivered: { url: string; body: string }[] = [];
    const sandbox = createSandbox({
      db,
      ...SANDBOX,
      mode: "inline",
      deliver: async (url, init) => {
        delivered.push({ url, body: String(init.body) });
        return new Response(null, { status: 200 });
      },
    });
    const toSandbox = (input: string, init?: RequestInit) =>
      Promise.resolve(sandbox.fetch(new Request(input, init)));
    // Faults between the client and the sandbox: "lose the reply" forwards the request, then fails.
    const faults: { method: string; prefix: string; mode: "500-after" | "timeout-after" | "500-before" }[] =
      [];
    const seen: { method: string; path: string }[] = [];
    const fetch = async (input: string, init: RequestInit): Promise<Response> => {
      const { pathname } = new URL(input);
      const method = init.method ?? "GET";
      seen.push({ method, path: pathname });
      const at = faults.findIndex((f) => f.method === method && pathname.startsWith(f.prefix));
      const fault = at === -1 ? undefined : faults.splice(at, 1)[0];
      if (!fault) return toSandbox(input, init);
      if (fault.mode === "500-before") return json(500, legacy("erro_aplicacao", "Erro interno"));
      await toSandbox(input, init);
      if (fault.mode === "500-after") return json(500, legacy("erro_aplicacao", "Erro interno"));
      return new Promise((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true });
      });
    };
    const client = createEfiClient({
      baseUrl: "http://efi-sandbox.local",
      ...SANDBOX,
      fetch,
      sleep: async () => {},
      timeoutMs: 100,
    });
    const control = async (path: string, body: unknown = {}) => {
      const response = await toSandbox(`http://efi-sandbox.local${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return response.json() as Promise<any>;
    };
    const cobsFor = async (id: string) =>
      (await db.prepare("SELECT COUNT(*) AS n FROM cobs WHERE txid = ?").bind(id).first<{ n: number }>())?.n;
    return { client, control, delivered, faults, seen, cobsFor, sandbox: toSandbox };
  }

  it("registers the webhook, creates a charge, reads it and its QR code", async () => {
    const { client } = sandboxSetup();
    const url = efiWebhookUrl("https://api.example.com.br", "hmac-secret");
    expect(await client.registerWebhook(url)).toEqual({ pixKey: SANDBOX.pixKey, webhookUrl: url });

    const id = txid();
    const created = await client.createCharge({
      txid: id,
      amountCents: 1234, // above R$10.00: the sandbox leaves it ATIVA
      expiresInSeconds: 900,
      debtor: { name: "Maria Passageira", cpf: "52998224725" },
    });
    expect(created).toMatchObject({
      txid: id,
      status: "ATIVA",
      amountCents: 1234,
      pixKey: SANDBOX.pixKey,
      expiresInSeconds: 900,
    });
    expect(await client.getCharge(id)).toMatchObject({ txid: id, amountCents: 1234, payments: [] });
    const qr = await client.getQrCode(created.locId as number);
    expect(qr.qrcode).toBe(created.pixCopiaECola);
    expect(qr.imageDataUri).toMatch(/^data:image\/(png|svg\+xml);base64,/);
  });

  it("a 500 after the sandbox created the charge: one charge, returned by reading it back", async () => {
    const { client, faults, seen, cobsFor } = sandboxSetup();
    const id = txid();
    faults.push({ method: "PUT", prefix: "/v2/cob/", mode: "500-after" });
    const charge = await client.createCharge({ txid: id, amountCents: 2500, expiresInSeconds: 600 });
    expect(charge).toMatchObject({ txid: id, amountCents: 2500, status: "ATIVA" });
    expect(seen.filter((r) => r.method === "PUT" && r.path === `/v2/cob/${id}`)).toHaveLength(2);
    expect(await cobsFor(id)).toBe(1);
  });

  it("a timeout after the sandbox created the charge: one charge", async () => {
    const { client, faults, cobsFor } = sandboxSetup();
    const id = txid();
    faults.push({ method: "PUT", prefix: "/v2/cob/", mode: "timeout-after" });
    const charge = await client.createCharge({ txid: id, amountCents: 2600, expiresInSeconds: 600 });
    expect(charge.amountCents).toBe(2600);
    expect(await cobsFor(id)).toBe(1);
  });

  it("an expired token is refreshed once and the call goes through", async () => {
    const { client, control, seen } = sandboxSetup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 2700, expiresInSeconds: 600 });
    const before = seen.filter((r) => r.path === "/oauth/token").length;
    const expired = await control("/sandbox/tokens/expire");
    expect(expired.expired).toBeGreaterThan(0);

    expect((await client.getCharge(id)).txid).toBe(id);
    expect(seen.filter((r) => r.path === "/oauth/token").length).toBe(before + 1);
  });

  it("a paid charge lists its Pix; a refund whose reply is lost is made once", async () => {
    const { client, control, faults } = sandboxSetup();
    const id = txid();
    await client.createCharge({ txid: id, amountCents: 3000, expiresInSeconds: 600 });
    const paid = await control(`/sandbox/charges/${id}/pay`);
    const charge = await client.getCharge(id);
    expect(charge.status).toBe("CONCLUIDA");
    expect(charge.payments).toMatchObject([{ e2eId: paid.e2eId, amountCents: 3000 }]);

    faults.push({ method: "PUT", prefix: "/v2/pix/", mode: "500-after" });
    const refund = await client.refund({ e2eId: paid.e2eId, refundId: `rf${seq}`, amountCents: 1000 });
    expect(refund).toMatchObject({ refundId: `rf${seq}`, amountCents: 1000 });
    const after = await client.getCharge(id);
    expect(after.payments[0]?.refunds).toHaveLength(1);
    expect(after.payments[0]?.refunds[0]?.amountCents).toBe(1000);
  });

  it("a Pix send whose reply is lost is sent once, and its status is read by idEnvio", async () => {
    const { client, faults } = sandboxSetup();
    await client.registerWebhook(efiWebhookUrl("https://api.example.com.br", "hmac-secret"));
    const idEnvio = `payout${++seq}`;
    faults.push({ method: "PUT", prefix: "/v3/gn/pix/", mode: "timeout-after" });
    const send = await client.sendPix({ idEnvio, amountCents: 500, favoredKey: "efipay@sejaefi.com.br" });
    expect(send).toMatchObject({ idEnvio, amountCents: 500 });
    expect(await client.getPixSend(idEnvio)).toMatchObject({
      idEnvio,
      amountCents: 500,
      status: "REALIZADO",
    });
    const sends = await db
      .prepare("SELECT COUNT(*) AS n FROM pix_sends WHERE id_envio = ?")
      .bind(idEnvio)
      .first<{ n: number }>();
    expect(sends?.n).toBe(1);
  });

  it("a send above R$20.00 is refused in the request, not retried", async () => {
    const { client, seen } = sandboxSetup();
    await client.registerWebhook(efiWebhookUrl("https://api.example.com.br", "hmac-secret"));
    const idEnvio = `payout${++seq}`;
    const error = await expectEfiError(
      client.sendPix({ idEnvio, amountCents: 2001, favoredKey: "efipay@sejaefi.com.br" }),
    );
    expect(error).toMatchObject({ status: 422, kind: "legacy", code: "pagamento_negado" });
    expect(seen.filter((r) => r.path === `/v3/gn/pix/${idEnvio}`)).toHaveLength(1);
  });

  it("charges a card: approved, refused by the sandbox's card rules, refunded", async () => {
    const { sandbox } = sandboxSetup();
    const provider = createEfiCardProvider({
      baseUrl: "http://efi-sandbox.local",
      clientId: SANDBOX.clientId,
      clientSecret: SANDBOX.clientSecret,
      fetch: (input, init) => sandbox(input, init),
    });
    const base = {
      amountCents: 4590,
      customer: {
        name: "Maria Passageira",
        cpf: "52998224725",
        email: "maria@example.com",
        phone: "+5511987654321",
        birthDate: "1990-05-20",
      },
      billingAddress: {
        street: "Avenida Paulista",
        number: "1000",
        neighborhood: "Bela Vista",
        zipcode: "01310-100",
        city: "São Paulo",
        state: "SP",
      },
      description: "Corrida",
    };
    const approved = await provider.charge({
      ...base,
      paymentToken: "tok_4",
      idempotencyKey: `pay_${++seq}`,
    });
    expect(approved.status).toBe("approved");
    const refused = await provider.charge({ ...base, paymentToken: "tok_2", idempotencyKey: `pay_${++seq}` });
    expect(refused).toMatchObject({ status: "refused", reason: expect.stringContaining("segurança") });
    await provider.refund({ chargeId: approved.chargeId });
  });
});
