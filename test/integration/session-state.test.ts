import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { sha256Hex } from "../../src/lib/crypto";
import { signAccessToken } from "../../src/lib/jwt";
import { SessionStore } from "../../src/objects/session-store";
import type { SessionState } from "../../src/services/auth/session-verdict";
import { call, createStaff, expectProblem, PASSWORD, registerUser, type TestUser, unique } from "../helpers";
import { bearer, openSocket, SE } from "../ride-helpers";

// Hot routes authenticate against the session state in the user's channel, not D1. A ping's
// refusal comes from authentication, before the handler; what still works is shown by a socket
// ticket, a hot route whose handler only talks to the channel. These tests
// count D1 round trips by patching the D1 prototypes of the isolate: the tests, the Worker and
// its Durable Objects share it, so a read made by the channel counts too.
const seen: string[] = [];
let counting = false;

beforeAll(() => {
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1"));
  for (const method of ["first", "all", "run", "raw"]) {
    const original = statement[method];
    statement[method] = function (this: { statement?: string }, ...args: unknown[]) {
      if (counting) seen.push(this.statement ?? method);
      return original.apply(this, args);
    };
  }
  const database = Object.getPrototypeOf(env.DB);
  for (const method of ["batch", "exec"]) {
    const original = database[method];
    database[method] = function (this: unknown, ...args: unknown[]) {
      if (counting) seen.push(`${method}`);
      return original.apply(this, args);
    };
  }
});

afterEach(() => {
  counting = false;
});

/** The D1 statements `work` made, with its result. */
async function d1During<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  seen.length = 0;
  counting = true;
  try {
    return { result: await work(), statements: [...seen] };
  } finally {
    counting = false;
  }
}

const ping = (user: { accessToken: string }, at = SE) =>
  call("POST", "/v1/drivers/me/location", { token: user.accessToken, body: at });

const ticket = (user: { accessToken: string }) => call("POST", "/v1/ws/ticket", { token: user.accessToken });

async function signInAgain(user: TestUser, password = user.password): Promise<TestUser> {
  const reply = await call("POST", "/v1/auth/login", {
    body: { email: user.email, password },
    headers: { "cf-connecting-ip": user.ip },
  });
  expect(reply.status, reply.text).toBe(200);
  return { ...user, accessToken: reply.json.access_token, refreshToken: reply.json.refresh_token };
}

describe("hot routes authenticate with no D1 round trip", { timeout: 30_000 }, () => {
  it("a socket ticket and a refused ping read nothing from D1", async () => {
    const driver = await registerUser("driver");
    const passenger = await registerUser("passenger");
    const issued = await d1During(() => ticket(driver));
    expect(issued.result.status, issued.result.text).toBe(201);
    expect(issued.statements).toEqual([]);
    // Authenticated, then refused by role and by body: still no D1.
    const wrongRole = await d1During(() => ping(passenger));
    expectProblem(wrongRole.result, 403, "forbidden");
    expect(wrongRole.statements).toEqual([]);
    const badBody = await d1During(() => ping(driver, { lat: 200 } as never));
    expectProblem(badBody.result, 400, "validation_failed");
    expect(badBody.statements).toEqual([]);
  });

  it("a socket upgrade with a bearer token reads nothing from D1 to authenticate", async () => {
    const user = await registerUser("passenger");
    const opened = await d1During(() => openSocket("/v1/ws", bearer(user.accessToken)));
    expect(opened.statements).toEqual([]);
    opened.result.socket.send("hello");
    const reply = await opened.result.next((m) => m.type === "error");
    expect(reply.code).toBe("invalid_frame");
    opened.result.socket.close(1000);
  });

  it("a cold channel fills itself from D1 with one read, then serves from its own storage", async () => {
    // A user the channel has never heard of: written straight into D1, token signed by hand.
    const id = `usr_COLD${unique().toUpperCase()}`;
    const family = `fam_COLD${unique().toUpperCase()}`;
    const now = new Date();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO users (id, role, status, name, email, phone, password_hash, created_at, updated_at) VALUES (?, 'passenger', 'active', 'Cold', ?, '', 'x', ?, ?)",
      ).bind(id, `cold-${unique()}@example.com`, now.toISOString(), now.toISOString()),
      env.DB.prepare(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(
        `rtk_${unique()}`,
        id,
        family,
        await sha256Hex(unique()),
        now.toISOString(),
        new Date(now.getTime() + 86_400_000).toISOString(),
      ),
    ]);
    const { config } = createServiceContext(env);
    const sign = (sid: string) =>
      signAccessToken(config.JWT_SIGNING_KEYS, { sub: id, role: "passenger", sid }, 900, Date.now());
    const user = { accessToken: await sign(family) };

    const first = await d1During(() => ticket(user));
    expect(first.result.status, first.result.text).toBe(201);
    expect(first.statements).toHaveLength(1);
    const second = await d1During(() => ticket(user));
    expect(second.result.status, second.result.text).toBe(201);
    expect(second.statements).toEqual([]);
    // A session D1 does not hold (a token for a family never created) is refused, without D1.
    const forged = { accessToken: await sign(`fam_NOPE${unique()}`) };
    const stranger = await d1During(() => ticket(forged));
    expectProblem(stranger.result, 401, "invalid_token");
    expect(stranger.statements).toEqual([]);
  });
});

describe("revocation reaches hot routes on the very next request", { timeout: 30_000 }, () => {
  it("a blocked driver's next ping is refused with user_blocked, without D1", async () => {
    const driver = await registerUser("driver");
    const admin = await createStaff("admin");
    expect((await ticket(driver)).status).toBe(201);
    const blocked = await call("POST", `/v1/admin/users/${driver.id}/block`, { token: admin.accessToken });
    expect(blocked.status, blocked.text).toBe(200);
    const next = await d1During(() => ping(driver));
    expectProblem(next.result, 403, "user_blocked");
    expect(next.statements).toEqual([]);
    // A new sign-in is refused as well, and the old session stays ended after an unblock.
    const unblocked = await call("POST", `/v1/admin/users/${driver.id}/unblock`, {
      token: admin.accessToken,
    });
    expect(unblocked.status, unblocked.text).toBe(200);
    expectProblem(await ping(driver), 401, "invalid_token");
    const again = await signInAgain(driver);
    expect((await ticket(again)).status).toBe(201);
  });

  it("a logged-out session's next ping is refused; the user's other session goes on", async () => {
    const driver = await registerUser("driver");
    const other = await signInAgain(driver);
    const out = await call("POST", "/v1/auth/logout", {
      token: driver.accessToken,
      body: { refresh_token: driver.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    expectProblem(await ping(driver), 401, "invalid_token");
    expect((await ticket(other)).status).toBe(201);
  });

  it("someone else's refresh token does not end a session: logout only ends the caller's own", async () => {
    const driver = await registerUser("driver");
    const stranger = await registerUser("passenger");
    const out = await call("POST", "/v1/auth/logout", {
      token: stranger.accessToken,
      body: { refresh_token: driver.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    expect((await ticket(driver)).status).toBe(201);
    expect((await ticket(stranger)).status).toBe(201);
  });

  it("a password change refuses the other sessions' next ping and keeps the caller's", async () => {
    const driver = await registerUser("driver");
    const other = await signInAgain(driver);
    const changed = await call("POST", "/v1/me/password", {
      token: driver.accessToken,
      body: { current_password: PASSWORD, new_password: "brand-new-secret-77" },
      headers: { "cf-connecting-ip": driver.ip },
    });
    expect(changed.status, changed.text).toBe(204);
    expectProblem(await ping(other), 401, "invalid_token");
    expect((await ticket(driver)).status).toBe(201);
  });

  it("a refused password change (wrong current password) ends no session", async () => {
    const driver = await registerUser("driver");
    const other = await signInAgain(driver);
    const refused = await call("POST", "/v1/me/password", {
      token: other.accessToken,
      body: { current_password: "not-the-password-1", new_password: "brand-new-secret-77" },
      headers: { "cf-connecting-ip": other.ip },
    });
    expectProblem(refused, 401, "invalid_credentials");
    expect((await ticket(driver)).status).toBe(201);
    expect((await ticket(other)).status).toBe(201);
  });

  it("a reused refresh token refuses that family's next ping; another session goes on", async () => {
    const driver = await registerUser("driver");
    const other = await signInAgain(driver);
    const rotated = await call("POST", "/v1/auth/refresh", { body: { refresh_token: driver.refreshToken } });
    expect(rotated.status, rotated.text).toBe(200);
    const current = { accessToken: rotated.json.access_token as string };
    expect((await ticket(current)).status).toBe(201);
    const reused = await call("POST", "/v1/auth/refresh", { body: { refresh_token: driver.refreshToken } });
    expectProblem(reused, 401, "refresh_token_reused");
    expectProblem(await ping(current), 401, "invalid_token");
    expectProblem(await ping(driver), 401, "invalid_token");
    expect((await ticket(other)).status).toBe(201);
  });

  it("an erased account's tokens are refused on hot routes", async () => {
    const passenger = await registerUser("passenger");
    const erased = await call("DELETE", "/v1/me", {
      token: passenger.accessToken,
      body: { password: passenger.password },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expect(erased.status, erased.text).toBe(204);
    expectProblem(await ticket(passenger), 403, "user_blocked");
  });

  it("a session ended in D1 behind the services' back is refused on hot routes once D1 refuses it", async () => {
    // `npm run admin:create --take-over` writes D1 only: it revokes the sessions and moves updated_at.
    const driver = await registerUser("driver");
    expect((await ticket(driver)).status).toBe(201);
    await env.DB.batch([
      env.DB.prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ?").bind(
        new Date().toISOString(),
        driver.id,
      ),
      env.DB.prepare("UPDATE users SET role = 'admin', updated_at = ? WHERE id = ?").bind(
        new Date(Date.now() + 1).toISOString(),
        driver.id,
      ),
    ]);
    // Any route that authenticates against D1 refuses it, and the channel reloads.
    expectProblem(await call("GET", "/v1/me", { token: driver.accessToken }), 401, "invalid_token");
    expectProblem(await ping(driver), 401, "invalid_token");
  });
});

describe("sockets", { timeout: 30_000 }, () => {
  it("a ticket redeemed after its session ended opens nothing", async () => {
    const user = await registerUser("passenger");
    const issued = await ticket(user);
    expect(issued.status, issued.text).toBe(201);
    const out = await call("POST", "/v1/auth/logout", {
      token: user.accessToken,
      body: { refresh_token: user.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    const socket = await openSocket(`/v1/ws?ticket=${encodeURIComponent(issued.json.ticket)}`);
    expect((await socket.closed).code).toBe(4401);
  });
});

describe("the channel's session store under interleaving", { timeout: 30_000 }, () => {
  /** A store on a fresh channel's storage whose D1 reads the test answers by hand. */
  function withStore(
    run: (store: SessionStore, reads: Array<(state: SessionState | null) => void>) => Promise<void>,
  ) {
    const stub = env.USER_CHANNEL.get(env.USER_CHANNEL.idFromName(`usr_STORE${unique()}`));
    return runInDurableObject(stub, async (_instance, state) => {
      const reads: Array<(answer: SessionState | null) => void> = [];
      const store = new SessionStore(
        state.storage.sql,
        () => new Promise<SessionState | null>((resolve) => reads.push(resolve)),
      );
      await run(store, reads);
    });
  }
  const account = (live: string[]): SessionState => ({
    role: "passenger",
    status: "active",
    stamp: "2026-01-01T00:00:00.000Z",
    live,
  });
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("an end that arrives while a cold fill waits on D1 is applied after it, not overwritten", async () => {
    await withStore(async (store, reads) => {
      const checking = store.check("usr_x", "fam_a");
      await tick();
      const ending = store.end("usr_x", { sessionId: "fam_a" });
      await tick();
      expect(reads).toHaveLength(1);
      reads[0]?.(account(["fam_a", "fam_b"])); // read before the logout's D1 commit
      expect(await checking).toEqual({ ok: true, role: "passenger" });
      expect(await ending).toBe(true);
      expect(await store.check("usr_x", "fam_a")).toEqual({ ok: false, code: "invalid_token" });
      expect(await store.check("usr_x", "fam_b")).toEqual({ ok: true, role: "passenger" });
      expect(reads).toHaveLength(1);
    });
  });

  it("a reload keeps an ended session ended until D1 agrees, and a newer stamp reloads", async () => {
    await withStore(async (store, reads) => {
      const first = store.check("usr_x", "fam_a");
      await tick();
      reads[0]?.(account(["fam_a"]));
      await first;
      await store.end("usr_x", { sessionId: "fam_a" });
      // D1 has not revoked it yet (its batch failed or is in flight) and the account moved.
      const seen = store.seen("usr_x", "2026-02-01T00:00:00.000Z");
      await tick();
      reads[1]?.({ ...account(["fam_a", "fam_c"]), stamp: "2026-02-01T00:00:00.000Z", role: "driver" });
      await seen;
      expect(await store.check("usr_x", "fam_a")).toEqual({ ok: false, code: "invalid_token" });
      expect(await store.check("usr_x", "fam_c")).toEqual({ ok: true, role: "driver" });
      // The same stamp again reads nothing.
      await store.seen("usr_x", "2026-02-01T00:00:00.000Z");
      expect(reads).toHaveLength(2);
    });
  });

  it("ending every session but the caller's is refused when the caller's own has ended", async () => {
    await withStore(async (store, reads) => {
      const first = store.check("usr_x", "fam_a");
      await tick();
      reads[0]?.(account(["fam_a", "fam_b"]));
      await first;
      expect(await store.end("usr_x", { exceptSessionId: "fam_a" })).toBe(true);
      expect(await store.end("usr_x", { exceptSessionId: "fam_b" })).toBe(false);
      expect(await store.check("usr_x", "fam_a")).toEqual({ ok: true, role: "passenger" });
      expect(await store.check("usr_x", "fam_b")).toEqual({ ok: false, code: "invalid_token" });
      await store.setStatus("usr_x", "blocked");
      expect(await store.check("usr_x", "fam_a")).toEqual({ ok: false, code: "user_blocked" });
      await store.setStatus("usr_x", "active");
      expect(await store.check("usr_x", "fam_a")).toEqual({ ok: false, code: "invalid_token" });
    });
  });
});
