import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, PASSWORD, type Reply, registerUser, unique } from "../helpers";

/** A valid CPF no other test uses: 9 random digits and their two check digits. */
function randomCpf(): string {
  const digits = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
  if (new Set(digits).size === 1) digits[0] = ((digits[0] ?? 0) + 1) % 10;
  for (const length of [9, 10]) {
    const sum = digits.reduce((acc, d, i) => acc + d * (length + 1 - i), 0);
    const rest = (sum * 10) % 11;
    digits.push(rest === 10 ? 0 : rest);
  }
  return digits.join("");
}

const formatCpf = (cpf: string) => `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`;

function registration(overrides: Record<string, unknown> = {}) {
  return {
    name: "Bruno Lima",
    email: `bruno-${unique()}@example.com`,
    phone: "+5521987654321",
    password: PASSWORD,
    role: "passenger",
    ...overrides,
  };
}

async function usersWithEmail(email: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?")
    .bind(email.trim().toLowerCase())
    .first<{ n: number }>();
  return row?.n ?? -1;
}

async function liveTokens(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** Accounts sharing the CPF (keyed hash) of the given user's account. */
async function usersWithCpfOf(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM users WHERE cpf_hash = (SELECT cpf_hash FROM users WHERE id = ?)",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** A registration conflict must not say whether the email or the CPF is the one taken. */
function expectNoFieldNamed(reply: Reply) {
  expect(reply.json.errors).toBeUndefined();
  for (const text of [reply.json.title, reply.json.detail]) {
    expect(text).not.toMatch(/e-?mail|cpf/i);
  }
}

describe("login with bad credentials", () => {
  describe.each([
    ["a wrong password", (email: string) => ({ email, password: "wrong-password-1" })],
    ["the password in another case", (email: string) => ({ email, password: PASSWORD.toUpperCase() })],
    ["an unknown email", () => ({ email: `nobody-${unique()}@example.com`, password: PASSWORD })],
  ])("%s", (_label, body) => {
    it("answers 401 invalid_credentials and issues no session", async () => {
      const user = await registerUser();
      const reply = await call("POST", "/v1/auth/login", {
        body: body(user.email),
        headers: { "cf-connecting-ip": user.ip },
      });
      expectProblem(reply, 401, "invalid_credentials");
      expect(reply.json.access_token).toBeUndefined();
      expect(await liveTokens(user.id)).toBe(1); // only the registration's session
    });
  });

  it("answers a wrong password and an unknown email identically", async () => {
    const user = await registerUser();
    const wrong = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: "wrong-password-1" },
      headers: { "cf-connecting-ip": user.ip },
    });
    const unknown = await call("POST", "/v1/auth/login", {
      body: { email: `nobody-${unique()}@example.com`, password: "wrong-password-1" },
      headers: { "cf-connecting-ip": user.ip },
    });
    expectProblem(wrong, 401, "invalid_credentials");
    expectProblem(unknown, 401, "invalid_credentials");
    const { request_id: _a, ...wrongBody } = wrong.json;
    const { request_id: _b, ...unknownBody } = unknown.json;
    expect(wrongBody).toEqual(unknownBody);
  });
});

describe("register with an email already taken", () => {
  describe.each([
    ["the same email", (email: string) => email],
    ["the email upper-cased", (email: string) => email.toUpperCase()],
    ["the email upper-cased with spaces around", (email: string) => `  ${email.toUpperCase()} `],
  ])("%s", (_label, variant) => {
    it("answers 409 registration_conflict naming no field, and leaves exactly one account", async () => {
      const first = await registerUser();
      const reply = await call("POST", "/v1/auth/register", {
        body: registration({ email: variant(first.email), role: "driver" }),
      });
      expectProblem(reply, 409, "registration_conflict");
      expectNoFieldNamed(reply);
      expect(reply.json.access_token).toBeUndefined();
      expect(await usersWithEmail(first.email)).toBe(1);
      const row = await env.DB.prepare("SELECT id, role FROM users WHERE email = ?")
        .bind(first.email)
        .first<{ id: string; role: string }>();
      expect(row).toEqual({ id: first.id, role: "passenger" });
    });
  });
});

describe("register with a CPF already taken", () => {
  describe.each([
    ["in the same format", (cpf: string) => cpf, (cpf: string) => cpf],
    ["formatted, then as digits", (cpf: string) => formatCpf(cpf), (cpf: string) => cpf],
    ["as digits, then formatted", (cpf: string) => cpf, (cpf: string) => formatCpf(cpf)],
  ])("%s", (_label, firstForm, secondForm) => {
    it("answers 409 registration_conflict naming no field, and creates no second account", async () => {
      const cpf = randomCpf();
      const first = await call("POST", "/v1/auth/register", { body: registration({ cpf: firstForm(cpf) }) });
      expect(first.status, first.text).toBe(201);
      const second = registration({ cpf: secondForm(cpf) });
      const reply = await call("POST", "/v1/auth/register", { body: second });
      expectProblem(reply, 409, "registration_conflict");
      expectNoFieldNamed(reply);
      expect(reply.text).not.toContain(cpf);
      expect(await usersWithCpfOf(first.json.user.id)).toBe(1);
      expect(await usersWithEmail(second.email)).toBe(0);
      const sessions = await env.DB.prepare(
        "SELECT count(*) AS n FROM refresh_tokens rt LEFT JOIN users u ON u.id = rt.user_id WHERE u.id IS NULL",
      ).first<{ n: number }>();
      expect(sessions?.n).toBe(0);
    });
  });
});

describe("register with a taken email or CPF", () => {
  it("answers both identically, so the reply does not tell which one exists", async () => {
    const cpf = randomCpf();
    const owner = registration({ cpf });
    expect((await call("POST", "/v1/auth/register", { body: owner })).status).toBe(201);
    const takenEmail = await call("POST", "/v1/auth/register", {
      body: registration({ email: owner.email, cpf: randomCpf() }),
    });
    const takenCpf = await call("POST", "/v1/auth/register", { body: registration({ cpf }) });
    expectProblem(takenEmail, 409, "registration_conflict");
    expectProblem(takenCpf, 409, "registration_conflict");
    const { request_id: _a, ...emailBody } = takenEmail.json;
    const { request_id: _b, ...cpfBody } = takenCpf.json;
    expect(emailBody).toEqual(cpfBody);
    expect(await usersWithEmail(owner.email)).toBe(1);
  });
});

describe("register with a weak password", () => {
  describe.each([
    ["too short", "abc12345"],
    ["nine characters", "abcdefg12"],
    ["no digit", "no-digits-at-all"],
    ["no letter", "1234567890-12"],
  ])("%s", (_label, password) => {
    it("answers 400 weak_password naming the field, and creates nothing", async () => {
      const body = registration({ password });
      const reply = await call("POST", "/v1/auth/register", { body });
      expectProblem(reply, 400, "weak_password");
      expect(reply.json.errors).toEqual([{ path: "password", message: expect.any(String) }]);
      expect(reply.text).not.toContain(password);
      expect(await usersWithEmail(body.email)).toBe(0);
    });
  });
});

describe("register with invalid fields", () => {
  describe.each([
    ["a malformed email", { email: "not-an-email" }, "email"],
    ["an email with no domain", { email: "ana@" }, "email"],
    ["a phone without +55", { phone: "+15551234567" }, "phone"],
    ["a phone without a country code", { phone: "11987654321" }, "phone"],
    ["a phone too short", { phone: "+55119876" }, "phone"],
    ["role admin", { role: "admin" }, "role"],
    ["role support", { role: "support" }, "role"],
    ["an invalid CPF", { cpf: "529.982.247-26" }, "cpf"],
    ["a CPF of repeated digits", { cpf: "111.111.111-11" }, "cpf"],
    ["a missing name", { name: undefined }, "name"],
    ["a blank name", { name: "   " }, "name"],
    ["a missing password", { password: undefined }, "password"],
    ["a numeric email", { email: 42 }, "email"],
  ])("%s", (_label, overrides, path) => {
    it(`answers 400 validation_failed with an error at "${path}"`, async () => {
      const body = registration(overrides);
      const reply = await call("POST", "/v1/auth/register", { body });
      expectProblem(reply, 400, "validation_failed");
      expect(reply.json.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
      expect(reply.json.detail).toContain(path);
      if (typeof body.email === "string") expect(await usersWithEmail(body.email)).toBe(0);
    });
  });

  it("names every invalid field at once", async () => {
    const reply = await call("POST", "/v1/auth/register", {
      body: registration({ email: "nope", phone: "123", role: "admin" }),
    });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "phone", "role"]);
  });

  it("refuses a non-object body", async () => {
    const reply = await call("POST", "/v1/auth/register", { body: ["not", "an", "object"] });
    expectProblem(reply, 400, "validation_failed");
  });
});

describe.each(["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh"])(
  "body problems on POST %s",
  (path) => {
    it.each([
      ["truncated JSON", '{"email": "a@b.com",'],
      ["single quotes", "{'email': 'a@b.com'}"],
      ["plain text", "hello"],
    ])("answers 400 malformed_json to %s", async (_label, raw) => {
      const reply = await call("POST", path, { raw, headers: { "content-type": "application/json" } });
      expectProblem(reply, 400, "malformed_json");
    });

    it.each([
      ["text/plain", '{"email": "a@b.com"}'],
      ["application/x-www-form-urlencoded", "email=a%40b.com&password=x"],
      [
        "multipart/form-data; boundary=x",
        '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
      ],
    ])("answers 415 unsupported_media_type to %s", async (contentType, raw) => {
      const reply = await call("POST", path, { raw, headers: { "content-type": contentType } });
      expectProblem(reply, 415, "unsupported_media_type");
    });

    it("answers 413 payload_too_large to a body over 64 KiB", async () => {
      const raw = JSON.stringify({ ...registration(), name: "x".repeat(64 * 1024) });
      const reply = await call("POST", path, { raw, headers: { "content-type": "application/json" } });
      expectProblem(reply, 413, "payload_too_large");
    });

    it("answers 400 validation_failed to an empty body", async () => {
      const reply = await call("POST", path, { headers: { "content-type": "application/json" } });
      expectProblem(reply, 400, "validation_failed");
    });
  },
);

describe("refresh token misuse", () => {
  it("revokes the whole family when a used token is presented again", async () => {
    const user = await registerUser();
    const first = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(first.status, first.text).toBe(200);

    const reuse = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expectProblem(reuse, 401, "refresh_token_reused");

    // The token issued by the legitimate refresh is now dead too.
    const next = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: first.json.refresh_token },
    });
    expectProblem(next, 401, "refresh_token_reused");
    // And so is every access token of that session.
    expectProblem(await call("GET", "/v1/me", { token: first.json.access_token }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: user.accessToken }), 401, "invalid_token");
    expect(await liveTokens(user.id)).toBe(0);
  });

  it("leaves the user's other sessions alone when one family is revoked", async () => {
    const user = await registerUser();
    const other = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": user.ip },
    });
    expect(other.status).toBe(200);
    expect(
      (await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } })).status,
    ).toBe(200);
    const reuse = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expectProblem(reuse, 401, "refresh_token_reused");
    expect((await call("GET", "/v1/me", { token: other.json.access_token })).status).toBe(200);
    expect(await liveTokens(user.id)).toBe(1);
  });

  it.each([
    ["a random token", () => "dGhpcy1pcy1ub3QtYS1yZWFsLXRva2VuLWF0LWFsbC0xMjM0"],
    ["an access token", (access: string) => access.slice(0, 200)],
  ])("answers 401 refresh_token_invalid to %s", async (_label, token) => {
    const user = await registerUser();
    const reply = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: token(user.accessToken) },
    });
    expectProblem(reply, 401, "refresh_token_invalid");
    expect(await liveTokens(user.id)).toBe(1); // an unknown token revokes nothing
  });

  it("answers 401 refresh_token_invalid to an expired refresh token", async () => {
    const user = await registerUser();
    await env.DB.prepare("UPDATE refresh_tokens SET expires_at = ? WHERE user_id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), user.id)
      .run();
    const reply = await call("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expectProblem(reply, 401, "refresh_token_invalid");
  });

  it.each([
    ["an empty token", { refresh_token: "" }],
    ["no token", {}],
    ["a token over 200 characters", { refresh_token: "x".repeat(201) }],
  ])("answers 400 validation_failed to %s", async (_label, body) => {
    const reply = await call("POST", "/v1/auth/refresh", { body });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.json.errors[0].path).toBe("refresh_token");
  });
});

describe("login rate limits", () => {
  // A fixed clock five minutes into a 15-minute window: the counts cannot straddle two windows,
  // and Retry-After is exactly the ten minutes left.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-02T10:05:00.000Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const login = (email: string, password: string, ip: string) =>
    call("POST", "/v1/auth/login", { body: { email, password }, headers: { "cf-connecting-ip": ip } });

  it("allows 10 failures per account and IP, then answers 429 even to the right password", async () => {
    const user = await registerUser();
    for (let i = 0; i < 10; i++) {
      expectProblem(await login(user.email, "wrong-password-1", user.ip), 401, "invalid_credentials");
    }
    const limited = await login(user.email, user.password, user.ip);
    expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("retry-after")).toBe("600");
    expect(limited.json.access_token).toBeUndefined();

    // The pair is the account however the email is spelled...
    const respelled = await login(`  ${user.email.toUpperCase()}`, user.password, user.ip);
    expectProblem(respelled, 429, "rate_limited");
    // ...from that IP only: failures elsewhere never lock the owner out.
    expect((await login(user.email, user.password, "192.0.2.77")).status).toBe(200);

    // Other accounts from the same IP are not affected.
    const other = await registerUser();
    expect((await login(other.email, other.password, user.ip)).status).toBe(200);
  });

  it("does not count successful sign-ins as failures: each one clears the pair", async () => {
    const user = await registerUser();
    for (let i = 0; i < 11; i++) expect((await login(user.email, user.password, user.ip)).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      expectProblem(await login(user.email, "wrong-password-1", user.ip), 401, "invalid_credentials");
    }
    expectProblem(await login(user.email, user.password, user.ip), 429, "rate_limited");
  });

  it("opens again in the next window", async () => {
    const user = await registerUser();
    for (let i = 0; i < 11; i++) await login(user.email, "wrong-password-1", user.ip);
    expectProblem(await login(user.email, user.password, user.ip), 429, "rate_limited");
    vi.setSystemTime(new Date("2026-03-02T10:15:00.000Z"));
    expect((await login(user.email, user.password, user.ip)).status).toBe(200);
  });

  it("allows 50 attempts per client IP across accounts, then answers 429", async () => {
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const user = await registerUser();
    for (let i = 0; i < 50; i++) {
      const reply = await login(`probe-${i}-${unique()}@example.com`, "wrong-password-1", ip);
      expectProblem(reply, 401, "invalid_credentials");
    }
    const limited = await login(user.email, user.password, ip);
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);

    // The same account from another IP is fine: this was the IP's limit, not the account's.
    expect((await login(user.email, user.password, user.ip)).status).toBe(200);
  });
});
