import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_DEVICES_PER_USER } from "../../src/services/notifications/devices";
import { call, expectProblem, registerUser, unique } from "../helpers";

async function deviceRow(token: string) {
  return env.DB.prepare("SELECT * FROM devices WHERE token = ?").bind(token).first<Record<string, unknown>>();
}

describe("devices", () => {
  it("registers a token once: again is 200 with the same device", async () => {
    const user = await registerUser("driver");
    const token = `tok-${unique()}`;
    const first = await call("POST", "/v1/devices", {
      token: user.accessToken,
      body: { token, platform: "android" },
    });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({ token, platform: "android", id: expect.stringMatching(/^dvc_/) });
    const again = await call("POST", "/v1/devices", {
      token: user.accessToken,
      body: { token, platform: "ios" },
    });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({
      id: first.json.id,
      platform: "ios",
      created_at: first.json.created_at,
    });
    const { results } = await env.DB.prepare("SELECT COUNT(*) AS n FROM devices WHERE token = ?")
      .bind(token)
      .all();
    expect(results[0]).toEqual({ n: 1 });
  });

  it("moves a token registered by another user to the caller", async () => {
    const seller = await registerUser("driver");
    const buyer = await registerUser("passenger");
    const token = `tok-${unique()}`;
    const first = await call("POST", "/v1/devices", {
      token: seller.accessToken,
      body: { token, platform: "android" },
    });
    const moved = await call("POST", "/v1/devices", {
      token: buyer.accessToken,
      body: { token, platform: "android" },
    });
    expect(moved.status).toBe(201);
    expect(moved.json.id).not.toBe(first.json.id);
    expect(await deviceRow(token)).toMatchObject({ user_id: buyer.id, id: moved.json.id });
    // The seller can no longer remove it: it is not his any more.
    expectProblem(
      await call("DELETE", `/v1/devices/${moved.json.id}`, { token: seller.accessToken }),
      404,
      "not_found",
    );
  });

  it("removes only the caller's own device; another user's is 404 and stays", async () => {
    const owner = await registerUser("driver");
    const other = await registerUser("driver");
    const token = `tok-${unique()}`;
    const created = await call("POST", "/v1/devices", {
      token: owner.accessToken,
      body: { token, platform: "ios" },
    });
    expectProblem(
      await call("DELETE", `/v1/devices/${created.json.id}`, { token: other.accessToken }),
      404,
      "not_found",
    );
    expect(await deviceRow(token)).toMatchObject({ user_id: owner.id });
    const removed = await call("DELETE", `/v1/devices/${created.json.id}`, { token: owner.accessToken });
    expect(removed.status).toBe(204);
    expect(await deviceRow(token)).toBeNull();
    expectProblem(
      await call("DELETE", `/v1/devices/${created.json.id}`, { token: owner.accessToken }),
      404,
      "not_found",
    );
  });

  it("refuses a malformed token or platform and writes nothing", async () => {
    const user = await registerUser("passenger");
    for (const body of [
      { token: "has spaces in it", platform: "android" },
      { token: `tok-${unique()}`, platform: "windows" },
      { token: "x".repeat(600), platform: "ios" },
      { platform: "ios" },
    ]) {
      expectProblem(
        await call("POST", "/v1/devices", { token: user.accessToken, body }),
        400,
        "validation_failed",
      );
    }
    const { results } = await env.DB.prepare("SELECT COUNT(*) AS n FROM devices WHERE user_id = ?")
      .bind(user.id)
      .all();
    expect(results[0]).toEqual({ n: 0 });
  });

  it(`keeps at most ${MAX_DEVICES_PER_USER} devices per user, dropping the longest unseen`, async () => {
    const user = await registerUser("driver");
    const tokens: string[] = [];
    for (let i = 0; i <= MAX_DEVICES_PER_USER; i++) {
      const token = `tok-${i}-${unique()}`;
      tokens.push(token);
      const reply = await call("POST", "/v1/devices", {
        token: user.accessToken,
        body: { token, platform: "android" },
      });
      expect(reply.status).toBe(201);
      await new Promise((r) => setTimeout(r, 2));
    }
    const { results } = await env.DB.prepare("SELECT token FROM devices WHERE user_id = ?")
      .bind(user.id)
      .all();
    expect(results).toHaveLength(MAX_DEVICES_PER_USER);
    expect(results.map((r) => r.token)).not.toContain(tokens[0]);
  });

  it("needs a signed-in user", async () => {
    expectProblem(
      await call("POST", "/v1/devices", { body: { token: `tok-${unique()}`, platform: "ios" } }),
      401,
      "authentication_required",
    );
  });
});
