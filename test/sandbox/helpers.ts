import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createSandbox, type SandboxOptions } from "../../sandbox/efi/src/app";
import { readReply } from "../helpers";

export const CLIENT_ID = "Client_Id_test";
export const CLIENT_SECRET = "Client_Secret_test";
export const PIX_KEY = "7d9f0335-8dcc-4054-9bf9-0dbd61d36906";
export const FAVORED_KEY = "efipay@sejaefi.com.br";
export const WEBHOOK_URL = "https://platform.test/webhooks/efi";

export interface Delivered {
  url: string;
  method: string;
  contentType: string | null;
  body: string;
  json: any;
}

/**
 * A `deliver` that records each webhook POST and answers with the queued statuses (then 200).
 * Every test file has its own database, and every test its own ids, so calls never mix.
 */
export function recorder() {
  const calls: Delivered[] = [];
  const statuses: number[] = [];
  let failWith: Error | null = null;
  const deliver = async (url: string, init: RequestInit) => {
    const body = typeof init.body === "string" ? init.body : "";
    let json: any;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const headers = new Headers(init.headers);
    calls.push({ url, method: init.method ?? "GET", contentType: headers.get("content-type"), body, json });
    if (failWith) throw failWith;
    return new Response(null, { status: statuses.shift() ?? 200 });
  };
  return {
    deliver,
    calls,
    /** The next answers, in order; after them every delivery gets 200. */
    answer: (...next: number[]) => statuses.push(...next),
    /** Every delivery from now on fails without an answer (connection refused). */
    refuse: (error = new TypeError("fetch failed: connection refused")) => {
      failWith = error;
    },
    /** The deliveries whose body mentions an e2eId (or charge id). */
    about: (id: string) => calls.filter((call) => call.body.includes(id)),
  };
}

export type Sandbox = ReturnType<typeof sandbox>;

/**
 * A sandbox over the test file's EFI_SANDBOX_DB, inline (its background work is done before each
 * reply) and, unless a test asks, without auto-pay or auto-settle so each step is explicit.
 */
export function sandbox(options: Partial<SandboxOptions> = {}) {
  const hooks = recorder();
  const app = createSandbox({
    db: env.EFI_SANDBOX_DB,
    deliver: hooks.deliver,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    pixKey: PIX_KEY,
    mode: "inline",
    autoPay: false,
    autoSettle: false,
    ...options,
  });

  async function call(
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined = init.raw;
    if (init.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(init.body);
    }
    return readReply(
      await app.fetch(new Request(`http://efi-sandbox.test${path}`, { method, headers, body })),
    );
  }

  const basic = (id = CLIENT_ID, secret = CLIENT_SECRET) => `Basic ${btoa(`${id}:${secret}`)}`;

  async function token(): Promise<string> {
    const reply = await call("POST", "/oauth/token", {
      headers: { authorization: basic() },
      body: { grant_type: "client_credentials" },
    });
    expect(reply.status, reply.text).toBe(200);
    return reply.json.access_token;
  }

  async function cardToken(): Promise<string> {
    const reply = await call("POST", "/v1/authorize", {
      headers: { authorization: basic() },
      body: { grant_type: "client_credentials" },
    });
    expect(reply.status, reply.text).toBe(200);
    return reply.json.access_token;
  }

  async function registerWebhook(webhookUrl = WEBHOOK_URL) {
    const reply = await call("PUT", `/v2/webhook/${PIX_KEY}`, { token: await token(), body: { webhookUrl } });
    expect(reply.status, reply.text).toBe(201);
  }

  /** Creates a cob with a fresh txid; returns the reply body. */
  async function createCob(valor = "25.00", extra: Record<string, unknown> = {}) {
    const txid = newTxid();
    const reply = await call("PUT", `/v2/cob/${txid}`, {
      token: await token(),
      body: { calendario: { expiracao: 3600 }, valor: { original: valor }, chave: PIX_KEY, ...extra },
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.json;
  }

  /** Creates and pays a cob through the control API; returns the e2eId. */
  async function paidCob(valor = "25.00"): Promise<{ txid: string; e2eId: string }> {
    const cob = await createCob(valor);
    const paid = await call("POST", `/sandbox/charges/${cob.txid}/pay`, { body: {} });
    expect(paid.status, paid.text).toBe(200);
    return { txid: cob.txid, e2eId: paid.json.e2eId };
  }

  return { app, call, basic, token, cardToken, registerWebhook, createCob, paidCob, hooks };
}

let counter = 0;
/** A txid of 26–35 alphanumerics, unique within the run. */
export function newTxid(): string {
  counter += 1;
  return `tx${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2)}`
    .replace(/[^a-zA-Z0-9]/g, "")
    .padEnd(30, "0")
    .slice(0, 35);
}

export function newId(prefix = "id"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 8)}`.replace(
    /[^a-zA-Z0-9]/g,
    "",
  );
}

/** Asserts Efí's legacy error body: `{nome, mensagem}` (and `erros` for schema errors). */
export function expectEfiError(
  reply: { status: number; json: any; text: string },
  status: number,
  nome: string,
) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.json.nome).toBe(nome);
  expect(typeof reply.json.mensagem).toBe("string");
}
