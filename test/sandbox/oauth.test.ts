import { describe, expect, it } from "vitest";
import { CLIENT_ID, newTxid, PIX_KEY, sandbox } from "./helpers";

const GRANT = { grant_type: "client_credentials" };

describe("POST /oauth/token", () => {
  it("issues a one-hour Bearer JWT with the granted scopes as one string", async () => {
    const box = sandbox();
    const reply = await box.call("POST", "/oauth/token", {
      headers: { authorization: box.basic() },
      body: GRANT,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: "Bearer",
      expires_in: 3600,
      scope: expect.any(String),
    });
    expect(reply.json.scope.split(" ")).toEqual(
      expect.arrayContaining(["cob.write", "cob.read", "pix.send", "webhook.write", "payloadlocation.read"]),
    );
    const claims = JSON.parse(
      atob(reply.json.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
    );
    expect(claims).toMatchObject({ sub: CLIENT_ID, scope: reply.json.scope });
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it.each([
    ["no Authorization header", {}],
    ["a wrong secret", { authorization: `Basic ${btoa(`${CLIENT_ID}:wrong`)}` }],
    ["an unknown client", { authorization: `Basic ${btoa("someone:else")}` }],
    ["a Bearer instead of Basic", { authorization: "Bearer abc" }],
  ])("answers 401 invalid_client for %s", async (_name, headers) => {
    const box = sandbox();
    const reply = await box.call("POST", "/oauth/token", { headers, body: GRANT });
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({ error: "invalid_client", error_description: expect.any(String) });
  });

  it("answers 400 for another grant_type", async () => {
    const box = sandbox();
    const reply = await box.call("POST", "/oauth/token", {
      headers: { authorization: box.basic() },
      body: { grant_type: "password" },
    });
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe("unsupported_grant_type");
  });
});

describe("Bearer tokens on the Pix routes", () => {
  it("answers 401 without a token or with an unknown one", async () => {
    const box = sandbox();
    const none = await box.call("GET", `/v2/cob/${newTxid()}`);
    expect(none.status).toBe(401);
    expect(none.json.error).toBe("invalid_token");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    const unknown = await box.call("GET", `/v2/cob/${newTxid()}`, { token: "a.b.c" });
    expect(unknown.status).toBe(401);
  });

  it("answers 403 insufficient_scope, in the OAuth shape, when the scope was not granted", async () => {
    const box = sandbox({ scopes: ["cob.read"] });
    const token = await box.token();
    const write = await box.call("PUT", `/v2/cob/${newTxid()}`, {
      token,
      body: { calendario: { expiracao: 3600 }, valor: { original: "1.00" }, chave: PIX_KEY },
    });
    expect(write.status).toBe(403);
    expect(write.json).toEqual({
      error: "insufficient_scope",
      error_description: "Access token has insufficient scope",
    });
    const read = await box.call("GET", `/v2/cob/${newTxid()}`, { token });
    expect(read.status).toBe(400); // allowed through, and the cob does not exist
    for (const [method, path] of [
      ["PUT", "/v3/gn/pix/abc"],
      ["GET", "/v2/gn/pix/enviados/id-envio/abc"],
      ["PUT", `/v2/webhook/${PIX_KEY}`],
      ["GET", "/v2/loc/1/qrcode"],
      ["PUT", "/v2/pix/E09089356202401011200aaaaaaaaaaa/devolucao/d1"],
    ]) {
      const reply = await box.call(method as string, path as string, {
        token,
        ...(method === "GET" ? {} : { body: {} }),
      });
      expect(reply.status, `${method} ${path}`).toBe(403);
    }
  });

  it("expires a token after an hour by the sandbox clock, and a new one works", async () => {
    let now = new Date("2026-03-02T12:00:00.000Z");
    const box = sandbox({ now: () => now });
    const token = await box.token();
    const txid = newTxid();
    expect((await box.call("GET", `/v2/cob/${txid}`, { token })).status).toBe(400);
    now = new Date("2026-03-02T12:59:59.000Z");
    expect((await box.call("GET", `/v2/cob/${txid}`, { token })).status).toBe(400);
    now = new Date("2026-03-02T13:00:00.000Z");
    const expired = await box.call("GET", `/v2/cob/${txid}`, { token });
    expect(expired.status).toBe(401);
    expect(expired.json).toEqual({ error: "invalid_token", error_description: "Access token has expired" });
    expect((await box.call("GET", `/v2/cob/${txid}`, { token: await box.token() })).status).toBe(400);
  });

  it("lets the control API expire tokens early, so a client can show it refreshes on 401", async () => {
    const box = sandbox();
    const token = await box.token();
    const other = await box.token();
    const one = await box.call("POST", "/sandbox/tokens/expire", { body: { token } });
    expect(one.json).toEqual({ expired: 1 });
    expect((await box.call("GET", `/v2/cob/${newTxid()}`, { token })).status).toBe(401);
    expect((await box.call("GET", `/v2/cob/${newTxid()}`, { token: other })).status).toBe(400);
    const all = await box.call("POST", "/sandbox/tokens/expire", { body: {} });
    expect(all.json.expired).toBeGreaterThanOrEqual(1);
    expect((await box.call("GET", `/v2/cob/${newTxid()}`, { token: other })).status).toBe(401);
  });

  it("does not take a Cobranças token on the Pix API, nor a Pix token on the Cobranças API", async () => {
    const box = sandbox();
    const pix = await box.call("GET", `/v2/cob/${newTxid()}`, { token: await box.cardToken() });
    expect(pix.status).toBe(401);
    const card = await box.call("GET", "/v1/charge/1", { token: await box.token() });
    expect(card.status).toBe(401);
    expect(card.json).toMatchObject({ code: expect.any(Number), error: "invalid_token" });
  });
});

describe("POST /v1/authorize", () => {
  it("issues a ten-minute Cobranças token with a refresh token and expire_at in epoch ms", async () => {
    const now = new Date("2026-03-02T12:00:00.000Z");
    const box = sandbox({ now: () => now });
    const reply = await box.call("POST", "/v1/authorize", {
      headers: { authorization: box.basic() },
      body: GRANT,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 600,
      expire_at: String(now.getTime() + 600_000),
      token_type: "Bearer",
    });
    const bad = await box.call("POST", "/v1/authorize", {
      headers: { authorization: box.basic("x", "y") },
      body: GRANT,
    });
    expect(bad.status).toBe(401);
  });
});
