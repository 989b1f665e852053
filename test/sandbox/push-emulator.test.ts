import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { FCM_SCOPE, JWT_BEARER_GRANT } from "../../sandbox/push/src/app";
import { serviceAccountJwt } from "../../src/integrations/fcm/access-token";
import { readReply } from "../helpers";
import { PUSH_HOST, pushEmulator } from "../push-network";

const account = {
  clientEmail: env.FCM_CLIENT_EMAIL,
  privateKey: env.FCM_PRIVATE_KEY,
  oauthUrl: `http://${PUSH_HOST}/token`,
};

async function request(
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
) {
  return readReply(await pushEmulator.fetch(new Request(`http://${PUSH_HOST}${path}`, { method, ...init })));
}

async function tokenFor(assertion: string) {
  return request("POST", "/token", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
  });
}

function send(accessToken: string, message: unknown, project = env.FCM_PROJECT_ID) {
  return request("POST", `/v1/projects/${project}/messages:send`, {
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ message }),
  });
}

describe("push emulator", () => {
  it("exchanges a correctly signed service-account JWT for an access token", async () => {
    const reply = await tokenFor(await serviceAccountJwt(account, new Date()));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      token_type: "Bearer",
      expires_in: 3600,
      access_token: expect.any(String),
    });
  });

  it("refuses a JWT signed by another key, for another audience, or without the messaging scope", async () => {
    const { privateKey } = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer(env.FCM_CLIENT_EMAIL)
      .setAudience(account.oauthUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    expect((await tokenFor(forged)).json).toMatchObject({ error: "invalid_grant" });
    const elsewhere = await serviceAccountJwt(
      { ...account, oauthUrl: "https://oauth2.googleapis.com/token" },
      new Date(),
    );
    expect((await tokenFor(elsewhere)).status).toBe(400);
    expect((await tokenFor("not.a.jwt")).status).toBe(400);
  });

  it("records a valid send, answers UNREGISTERED for dead- tokens, fails the next N with 500", async () => {
    const { json } = await tokenFor(await serviceAccountJwt(account, new Date()));
    const token = `emu-${crypto.randomUUID()}`;
    const ok = await send(json.access_token, {
      token,
      notification: { title: "t", body: "b" },
      data: { a: "1" },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.name).toMatch(new RegExp(`^projects/${env.FCM_PROJECT_ID}/messages/\\d+$`));
    const listed = await request("GET", `/sandbox/push/messages?token=${token}`);
    expect(listed.json.messages).toHaveLength(1);

    const dead = await send(json.access_token, { token: "dead-abc" });
    expect(dead.status).toBe(404);
    expect(dead.json.error.details[0]).toMatchObject({ errorCode: "UNREGISTERED" });

    await request("POST", "/sandbox/push/fail-next", { body: JSON.stringify({ count: 2 }) });
    expect((await send(json.access_token, { token })).status).toBe(500);
    expect((await send(json.access_token, { token })).status).toBe(500);
    expect((await send(json.access_token, { token })).status).toBe(200);
  });

  it("refuses a send without a valid bearer, for another project, or with non-string data", async () => {
    const { json } = await tokenFor(await serviceAccountJwt(account, new Date()));
    expect((await send("made-up", { token: "x" })).status).toBe(401);
    expect((await send(json.access_token, { token: "x" }, "someone-else")).status).toBe(403);
    const bad = await send(json.access_token, { token: "x", data: { n: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.status).toBe("INVALID_ARGUMENT");
  });

  it("shows the messages on its control page", async () => {
    const page = await request("GET", "/sandbox/push");
    expect(page.status).toBe(200);
    expect(page.text).toContain("FCM push emulator");
  });
});
