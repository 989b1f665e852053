import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, PASSWORD, registerUser, unique } from "../helpers";

const CPF_DIGITS = "52998224725";

function registration(overrides: Record<string, unknown> = {}) {
  return {
    name: "  Ana Souza ",
    email: `ana-${unique()}@example.com`,
    phone: "+5511987654321",
    password: PASSWORD,
    role: "passenger",
    ...overrides,
  };
}

function expectSession(json: any) {
  expect(json).toEqual({
    user: {
      id: expect.stringMatching(/^usr_[0-9A-Z]{26}$/),
      role: expect.any(String),
      status: "active",
      name: expect.any(String),
      email: expect.any(String),
      phone: expect.any(String),
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    },
    access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    refresh_token: expect.stringMatching(/^[\w-]{43}$/),
    token_type: "Bearer",
    expires_in: 900,
  });
}

describe("POST /v1/auth/register", () => {
  it("creates a passenger and answers 201 with the user and a first session", async () => {
    const body = registration({ email: `  Ana.${unique()}@Example.COM ` });
    const reply = await call("POST", "/v1/auth/register", { body });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get("content-type")).toContain("application/json");
    expectSession(reply.json);
    expect(reply.json.user).toMatchObject({
      role: "passenger",
      status: "active",
      name: "Ana Souza",
      email: body.email.trim().toLowerCase(),
      phone: "+5511987654321",
    });
    expect(reply.text).not.toContain(PASSWORD);
    expect(reply.text).not.toMatch(/pbkdf2|password|cpf/i);

    const row = await env.DB.prepare("SELECT * FROM users WHERE id = ?")
      .bind(reply.json.user.id)
      .first<any>();
    expect(row).toMatchObject({
      role: "passenger",
      status: "active",
      email: body.email.trim().toLowerCase(),
      cpf_ciphertext: null,
      cpf_hash: null,
    });
    expect(row.password_hash).toMatch(/^pbkdf2-sha256\$\d+\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it("creates a driver", async () => {
    const reply = await call("POST", "/v1/auth/register", { body: registration({ role: "driver" }) });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json.user.role).toBe("driver");
  });

  it("stores a CPF encrypted and keyed, and never returns it", async () => {
    const reply = await call("POST", "/v1/auth/register", { body: registration({ cpf: "529.982.247-25" }) });
    expect(reply.status, reply.text).toBe(201);
    expectSession(reply.json);
    expect(reply.text).not.toContain(CPF_DIGITS);
    expect(reply.text).not.toContain("529.982.247-25");

    const row = await env.DB.prepare("SELECT cpf_ciphertext, cpf_hash FROM users WHERE id = ?")
      .bind(reply.json.user.id)
      .first<{ cpf_ciphertext: string | null; cpf_hash: string | null }>();
    expect(row?.cpf_ciphertext).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(row?.cpf_ciphertext).not.toContain(CPF_DIGITS);
    expect(row?.cpf_ciphertext).not.toContain("529982");
    expect(row?.cpf_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.cpf_hash).not.toContain(CPF_DIGITS);
  });

  it("records the first session as one live refresh token", async () => {
    const user = await registerUser();
    const rows = await env.DB.prepare("SELECT token_hash, revoked_at FROM refresh_tokens WHERE user_id = ?")
      .bind(user.id)
      .all<{ token_hash: string; revoked_at: string | null }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]?.revoked_at).toBeNull();
    expect(rows.results[0]?.token_hash).not.toBe(user.refreshToken);
  });
});

describe("POST /v1/auth/login", () => {
  it("signs in with the registered email and password", async () => {
    const user = await registerUser("driver");
    const reply = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": user.ip },
    });
    expect(reply.status, reply.text).toBe(200);
    expectSession(reply.json);
    expect(reply.json.user).toMatchObject({ id: user.id, role: "driver", email: user.email });
    expect(reply.json.access_token).not.toBe(user.accessToken);
    expect(reply.json.refresh_token).not.toBe(user.refreshToken);
  });

  it("accepts the email in any letter case", async () => {
    const user = await registerUser();
    const reply = await call("POST", "/v1/auth/login", {
      body: { email: user.email.toUpperCase(), password: user.password },
      headers: { "cf-connecting-ip": user.ip },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.user.id).toBe(user.id);
  });

  it("starts a separate session: logging out of one leaves the other signed in", async () => {
    const user = await registerUser();
    const second = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": user.ip },
    });
    expect(second.status).toBe(200);
    const out = await call("POST", "/v1/auth/logout", {
      token: second.json.access_token,
      body: { refresh_token: second.json.refresh_token },
    });
    expect(out.status).toBe(204);
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(200);
    expectProblem(await call("GET", "/v1/me", { token: second.json.access_token }), 401, "invalid_token");
  });
});

describe("GET /v1/me", () => {
  it("returns the signed-in user", async () => {
    const user = await registerUser("driver");
    const reply = await call("GET", "/v1/me", { token: user.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      id: user.id,
      role: "driver",
      status: "active",
      name: "Test User",
      email: user.email,
      phone: "+5511987654321",
      created_at: expect.any(String),
      permissions: [],
    });
  });
});

describe("POST /v1/auth/refresh and /v1/auth/logout", () => {
  it("rotates the pair; the old access token works until logout, then nothing of the session does", async () => {
    const user = await registerUser();

    const refreshed = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expectSession(refreshed.json);
    expect(refreshed.json.user.id).toBe(user.id);
    expect(refreshed.json.access_token).not.toBe(user.accessToken);
    expect(refreshed.json.refresh_token).not.toBe(user.refreshToken);

    // Both access tokens belong to the same live session.
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(200);
    expect((await call("GET", "/v1/me", { token: refreshed.json.access_token })).status).toBe(200);

    // The rotated token row is revoked, the new one live, both in one family.
    const rows = await env.DB.prepare(
      "SELECT family_id, revoked_at FROM refresh_tokens WHERE user_id = ? ORDER BY id",
    )
      .bind(user.id)
      .all<{ family_id: string; revoked_at: string | null }>();
    expect(rows.results).toHaveLength(2);
    expect(rows.results[0]?.revoked_at).not.toBeNull();
    expect(rows.results[1]?.revoked_at).toBeNull();
    expect(rows.results[0]?.family_id).toBe(rows.results[1]?.family_id);

    const out = await call("POST", "/v1/auth/logout", {
      token: user.accessToken,
      body: { refresh_token: refreshed.json.refresh_token },
    });
    expect(out.status, out.text).toBe(204);
    expect(out.text).toBe("");

    expectProblem(await call("GET", "/v1/me", { token: user.accessToken }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: refreshed.json.access_token }), 401, "invalid_token");
    const again = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: refreshed.json.refresh_token },
    });
    // A token revoked by logout counts as a used token.
    expectProblem(again, 401, "refresh_token_reused");

    const live = await env.DB.prepare(
      "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(live?.n).toBe(0);
  });

  it("can refresh repeatedly, each new token once", async () => {
    const user = await registerUser("driver");
    let token = user.refreshToken;
    for (let i = 0; i < 3; i++) {
      const reply = await call("POST", "/v1/auth/refresh", { body: { refresh_token: token } });
      expect(reply.status, reply.text).toBe(200);
      token = reply.json.refresh_token;
    }
    expect((await call("POST", "/v1/auth/refresh", { body: { refresh_token: token } })).status).toBe(200);
  });

  it("logs out with a refresh token already rotated away, ending the session", async () => {
    const user = await registerUser();
    const refreshed = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(refreshed.status).toBe(200);
    const out = await call("POST", "/v1/auth/logout", {
      token: refreshed.json.access_token,
      body: { refresh_token: user.refreshToken },
    });
    expect(out.status).toBe(204);
    expectProblem(await call("GET", "/v1/me", { token: refreshed.json.access_token }), 401, "invalid_token");
  });
});
