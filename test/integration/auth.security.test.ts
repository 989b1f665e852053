import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser, type TestUser } from "../helpers";

// The test key from vitest.config.ts (JWT_SIGNING_KEYS), so hand-made tokens differ from real
// ones only in what each case changes.
const TEST_KID = "test-current";
const TEST_SECRET = "test-current-signing-key-0123456789abcdef";
const ISSUER = "mobility-edge-api";
const AUDIENCE = "mobility-apps";

type Role = "passenger" | "driver" | "admin" | "finance" | "support" | "ops";

interface Signed {
  id: string;
  role: Role;
  accessToken: string;
  refreshToken: string;
}

async function signedIn(role: Role): Promise<Signed> {
  if (role === "passenger" || role === "driver")
    return (await registerUser(role)) as TestUser & { role: Role };
  return createStaff(role);
}

interface HandMade {
  kid?: string;
  secret?: string;
  expiresIn?: number;
}

/** A token for a real user's real session, signed by hand; by default exactly what the API issues. */
function handMade(user: Signed, options: HandMade = {}) {
  const { sid } = decodeJwt(user.accessToken);
  const now = Math.floor(Date.now() / 1000);
  const lifetime = options.expiresIn ?? 900;
  return new SignJWT({ role: user.role, sid })
    .setProtectedHeader({ alg: "HS256", kid: options.kid ?? TEST_KID, typ: "JWT" })
    .setSubject(user.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(lifetime > 0 ? now : now + lifetime - 900)
    .setExpirationTime(now + lifetime)
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

function unsigned(user: Signed): string {
  const b64 = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const { sid } = decodeJwt(user.accessToken);
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ alg: "none", typ: "JWT", kid: TEST_KID });
  const payload = b64({
    sub: user.id,
    role: "admin",
    sid,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
  });
  return `${header}.${payload}.`;
}

/** Every protected route: method, path ({id} becomes a fresh passenger's id), body, success status. */
const PROTECTED: [string, string, ((user: Signed) => unknown) | undefined, number][] = [
  ["GET", "/v1/me", undefined, 200],
  ["POST", "/v1/auth/logout", (user) => ({ refresh_token: user.refreshToken }), 204],
  ["POST", "/v1/admin/users/{id}/block", undefined, 200],
  ["POST", "/v1/admin/users/{id}/unblock", undefined, 200],
  ["GET", "/v1/admin/audit-logs", undefined, 200],
];

async function request(route: (typeof PROTECTED)[number], user: Signed, token: string | undefined) {
  const [method, template, body] = route;
  const target = template.includes("{id}") ? await registerUser() : undefined;
  const path = target ? template.replace("{id}", target.id) : template;
  const reply = await call(method, path, { token, body: body?.(user) });
  return { reply, target };
}

describe.each(PROTECTED)("%s %s", (...route) => {
  it("answers 401 authentication_required without a token", async () => {
    const admin = await signedIn("admin");
    expectProblem((await request(route, admin, undefined)).reply, 401, "authentication_required");
  });

  it("answers 401 authentication_required to a non-Bearer Authorization header", async () => {
    const admin = await signedIn("admin");
    const [method, template, body] = route;
    const reply = await call(method, template.replace("{id}", admin.id), {
      body: body?.(admin),
      headers: { authorization: `Basic ${btoa("admin:secret")}` },
    });
    expectProblem(reply, 401, "authentication_required");
  });

  it.each([
    ["garbage", "not-a-token"],
    ["three garbage segments", "aaa.bbb.ccc"],
  ])("answers 401 invalid_token to a %s token", async (_label, token) => {
    const admin = await signedIn("admin");
    expectProblem((await request(route, admin, token)).reply, 401, "invalid_token");
  });

  it("answers 401 invalid_token to a token signed with a secret not in JWT_SIGNING_KEYS", async () => {
    const admin = await signedIn("admin");
    const token = await handMade(admin, { secret: "an-attacker-secret-0123456789abcdefghij" });
    expectProblem((await request(route, admin, token)).reply, 401, "invalid_token");
  });

  it("answers 401 invalid_token to a token naming an unknown key id", async () => {
    const admin = await signedIn("admin");
    const token = await handMade(admin, { kid: "attacker-key" });
    expectProblem((await request(route, admin, token)).reply, 401, "invalid_token");
  });

  it("answers 401 invalid_token to an unsigned alg:none token", async () => {
    const admin = await signedIn("passenger");
    expectProblem((await request(route, admin, unsigned(admin))).reply, 401, "invalid_token");
  });

  it("answers 401 token_expired to an expired token of a real session", async () => {
    const admin = await signedIn("admin");
    const token = await handMade(admin, { expiresIn: -60 });
    expectProblem((await request(route, admin, token)).reply, 401, "token_expired");
  });

  it("accepts the same hand-made token when it is valid, so each refusal above has one cause", async () => {
    const admin = await signedIn("admin");
    const token = await handMade(admin);
    const { reply } = await request(route, admin, token);
    expect(reply.status, reply.text).toBe(route[3]);
  });

  it("answers 401 invalid_token once the token's session has been logged out", async () => {
    const admin = await signedIn("admin");
    const out = await call("POST", "/v1/auth/logout", {
      token: admin.accessToken,
      body: { refresh_token: admin.refreshToken },
    });
    expect(out.status).toBe(204);
    expectProblem((await request(route, admin, admin.accessToken)).reply, 401, "invalid_token");
  });
});

/** Which roles may use each admin route; every other role gets 403. */
const ADMIN_ROUTES: [string, string, Role[]][] = [
  ["POST", "/v1/admin/users/{id}/block", ["admin", "support"]],
  ["POST", "/v1/admin/users/{id}/unblock", ["admin", "support"]],
  ["GET", "/v1/admin/audit-logs", ["admin", "finance", "support"]],
];
const ROLES: Role[] = ["passenger", "driver", "admin", "finance", "support", "ops"];

describe.each(ADMIN_ROUTES)("roles on %s %s", (method, template, allowed) => {
  const refused = ROLES.filter((role) => !allowed.includes(role));

  it.each(refused)("refuses %s with 403 forbidden and changes nothing", async (role) => {
    const user = await signedIn(role);
    const target = await registerUser();
    const reply = await call(method, template.replace("{id}", target.id), { token: user.accessToken });
    expectProblem(reply, 403, "forbidden");
    const row = await env.DB.prepare("SELECT status FROM users WHERE id = ?")
      .bind(target.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("active");
    const audits = await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE target_id = ?")
      .bind(target.id)
      .first<{ n: number }>();
    expect(audits?.n).toBe(0);
  });

  it.each(allowed)("allows %s", async (role) => {
    const user = await signedIn(role);
    const target = await registerUser();
    const reply = await call(method, template.replace("{id}", target.id), { token: user.accessToken });
    expect(reply.status, reply.text).toBe(200);
  });
});

describe.each(ROLES)("signed-in routes for %s", (role) => {
  it("GET /v1/me answers with the caller's own account", async () => {
    const user = await signedIn(role);
    const reply = await call("GET", "/v1/me", { token: user.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ id: user.id, role, status: "active" });
  });
});

describe("someone else's session", () => {
  it("logging out with another user's refresh token does not end their session", async () => {
    const attacker = await registerUser();
    const victim = await registerUser();
    const reply = await call("POST", "/v1/auth/logout", {
      token: attacker.accessToken,
      body: { refresh_token: victim.refreshToken },
    });
    expect(reply.status).toBe(204);
    expect((await call("GET", "/v1/me", { token: victim.accessToken })).status).toBe(200);
    const refreshed = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: victim.refreshToken },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
  });

  it("a token's role claim grants nothing: the role is read from the account", async () => {
    const passenger = await registerUser();
    const { sid } = decodeJwt(passenger.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: "admin", sid })
      .setProtectedHeader({ alg: "HS256", kid: TEST_KID, typ: "JWT" })
      .setSubject(passenger.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(new TextEncoder().encode(TEST_SECRET));
    expectProblem(await call("GET", "/v1/admin/audit-logs", { token }), 403, "forbidden");
  });
});

describe("blocking a user", () => {
  it("stops the user at once, is audited, and unblocking restores sign-in", async () => {
    const admin = await createStaff("admin");
    const passenger = await registerUser();
    expect((await call("GET", "/v1/me", { token: passenger.accessToken })).status).toBe(200);

    const blocked = await call("POST", `/v1/admin/users/${passenger.id}/block`, { token: admin.accessToken });
    expect(blocked.status, blocked.text).toBe(200);
    expect(blocked.json).toMatchObject({ id: passenger.id, status: "blocked", role: "passenger" });

    // The existing access token is refused on the very next request.
    expectProblem(await call("GET", "/v1/me", { token: passenger.accessToken }), 403, "user_blocked");
    // Signing in is refused with the right password…
    const login = await call("POST", "/v1/auth/login", {
      body: { email: passenger.email, password: passenger.password },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expectProblem(login, 403, "user_blocked");
    // …but a wrong password still says only that the credentials are wrong.
    const wrong = await call("POST", "/v1/auth/login", {
      body: { email: passenger.email, password: "wrong-password-1" },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expectProblem(wrong, 401, "invalid_credentials");
    // The refresh token is refused, and every session is revoked in D1.
    const refreshed = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: passenger.refreshToken },
    });
    expectProblem(refreshed, 403, "user_blocked");
    const live = await env.DB.prepare(
      "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL",
    )
      .bind(passenger.id)
      .first<{ n: number }>();
    expect(live?.n).toBe(0);
    const row = await env.DB.prepare("SELECT status FROM users WHERE id = ?")
      .bind(passenger.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("blocked");

    // The audit log names the actor, the change and the request.
    const logs = await call("GET", "/v1/admin/audit-logs?limit=100", { token: admin.accessToken });
    expect(logs.status, logs.text).toBe(200);
    const entries = logs.json.items.filter((e: { target_id: string }) => e.target_id === passenger.id);
    expect(entries).toEqual([
      {
        id: expect.stringMatching(/^aud_/),
        actor_id: admin.id,
        action: "user.block",
        target_type: "user",
        target_id: passenger.id,
        before: { status: "active" },
        after: { status: "blocked" },
        request_id: blocked.headers.get("x-request-id"),
        reason: null,
        created_at: expect.any(String),
      },
    ]);

    const unblocked = await call("POST", `/v1/admin/users/${passenger.id}/unblock`, {
      token: admin.accessToken,
    });
    expect(unblocked.status, unblocked.text).toBe(200);
    expect(unblocked.json.status).toBe("active");

    const again = await call("POST", "/v1/auth/login", {
      body: { email: passenger.email, password: passenger.password },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expect(again.status, again.text).toBe(200);
    expect((await call("GET", "/v1/me", { token: again.json.access_token })).status).toBe(200);
    // Sessions ended by the block stay ended.
    expectProblem(await call("GET", "/v1/me", { token: passenger.accessToken }), 401, "invalid_token");

    const after = await call("GET", "/v1/admin/audit-logs?limit=100", { token: admin.accessToken });
    const unblock = after.json.items.find(
      (e: { target_id: string; action: string }) =>
        e.target_id === passenger.id && e.action === "user.unblock",
    );
    expect(unblock).toMatchObject({
      actor_id: admin.id,
      before: { status: "blocked" },
      after: { status: "active" },
    });
  });

  it("lets support block a driver and records support as the actor", async () => {
    const support = await createStaff("support");
    const driver = await registerUser("driver");
    const reply = await call("POST", `/v1/admin/users/${driver.id}/block`, { token: support.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expectProblem(await call("GET", "/v1/me", { token: driver.accessToken }), 403, "user_blocked");
    const audit = await env.DB.prepare("SELECT actor_id, action FROM audit_logs WHERE target_id = ?")
      .bind(driver.id)
      .all<{ actor_id: string; action: string }>();
    expect(audit.results).toEqual([{ actor_id: support.id, action: "user.block" }]);
  });

  it("blocking twice is harmless and audited once", async () => {
    const admin = await createStaff("admin");
    const passenger = await registerUser();
    for (let i = 0; i < 2; i++) {
      const reply = await call("POST", `/v1/admin/users/${passenger.id}/block`, { token: admin.accessToken });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.status).toBe("blocked");
    }
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE target_id = ?")
      .bind(passenger.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });

  it.each(["block", "unblock"])("answers 404 not_found to %s of an unknown user", async (action) => {
    const admin = await createStaff("admin");
    const reply = await call("POST", `/v1/admin/users/usr_DOESNOTEXIST/${action}`, {
      token: admin.accessToken,
    });
    expectProblem(reply, 404, "not_found");
  });

  it("lets only an admin block staff accounts", async () => {
    const support = await createStaff("support");
    const admin = await createStaff("admin");
    const finance = await createStaff("finance");
    const refused = await call("POST", `/v1/admin/users/${admin.id}/block`, { token: support.accessToken });
    expectProblem(refused, 403, "forbidden");
    expect((await call("GET", "/v1/me", { token: admin.accessToken })).status).toBe(200);
    const row = await env.DB.prepare("SELECT status FROM users WHERE id = ?").bind(admin.id).first("status");
    expect(row).toBe("active");
    const byAdmin = await call("POST", `/v1/admin/users/${finance.id}/block`, { token: admin.accessToken });
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expectProblem(await call("GET", "/v1/me", { token: finance.accessToken }), 403, "user_blocked");
  });

  it("refuses to let staff block themselves", async () => {
    const support = await createStaff("support");
    const reply = await call("POST", `/v1/admin/users/${support.id}/block`, { token: support.accessToken });
    expectProblem(reply, 403, "forbidden");
    expect((await call("GET", "/v1/me", { token: support.accessToken })).status).toBe(200);
  });
});
