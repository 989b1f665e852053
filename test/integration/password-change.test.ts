import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, registerUser, type TestUser } from "../helpers";
import { bearer, openSocket, rideWithDriver, type TestSocket } from "../ride-helpers";

const NEW_PASSWORD = "brand-new-secret-77";

const changePassword = (user: TestUser, body: unknown, ip = user.ip) =>
  call("POST", "/v1/me/password", { token: user.accessToken, body, headers: { "cf-connecting-ip": ip } });

const signIn = (user: TestUser, password: string, ip = user.ip) =>
  call("POST", "/v1/auth/login", {
    body: { email: user.email, password },
    headers: { "cf-connecting-ip": ip },
  });

/** A second session of the same account, as another device would open. */
async function signInAgain(user: TestUser): Promise<TestUser> {
  const reply = await signIn(user, user.password);
  expect(reply.status, reply.text).toBe(200);
  return { ...user, accessToken: reply.json.access_token, refreshToken: reply.json.refresh_token };
}

/** What a password change may touch: the hash, the live sessions, the audit trail. */
async function accountState(user: TestUser) {
  const row = await env.DB.prepare("SELECT password_hash, updated_at FROM users WHERE id = ?")
    .bind(user.id)
    .first();
  const live = await env.DB.prepare(
    "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL",
  )
    .bind(user.id)
    .first<{ n: number }>();
  const audits = await env.DB.prepare(
    "SELECT actor_id, after FROM audit_logs WHERE target_id = ? AND action = 'user.password_change'",
  )
    .bind(user.id)
    .all();
  return { row, live: live?.n, audits: audits.results };
}

async function expectOpen(socket: TestSocket): Promise<void> {
  const pongs = socket.messages.filter((m) => m === "pong").length;
  socket.socket.send("ping");
  await socket.next(() => socket.messages.filter((m) => m === "pong").length > pongs, 2000);
}

async function expectClosedWithin(socket: TestSocket, code: number, since: number) {
  const closed = await Promise.race([
    socket.closed,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000)),
  ]);
  expect(closed, "the socket is still open after a second").not.toBeNull();
  expect(closed).toEqual({ code, reason: "session_ended" });
  expect(Date.now() - since).toBeLessThan(1000);
}

describe("POST /v1/me/password", { timeout: 30_000 }, () => {
  it("refuses a wrong current password with 401 and changes nothing", async () => {
    const user = await registerUser();
    const other = await signInAgain(user);
    const before = await accountState(user);

    const reply = await changePassword(user, {
      current_password: "not-my-password-1",
      new_password: NEW_PASSWORD,
    });
    expectProblem(reply, 401, "invalid_credentials");

    expect(await accountState(user)).toEqual(before);
    expect(before.live).toBe(2);
    expect(before.audits).toEqual([]);
    expectProblem(await signIn(user, NEW_PASSWORD), 401, "invalid_credentials");
    expect((await signIn(user, user.password)).status).toBe(200);
    const refreshed = await call("POST", "/v1/auth/refresh", { body: { refresh_token: other.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
  });

  it("counts wrong current passwords against the sign-in failure limit of the account and address", async () => {
    const user = await registerUser();
    for (let i = 0; i < 10; i++) {
      const reply = await changePassword(user, {
        current_password: "guess-number-1",
        new_password: NEW_PASSWORD,
      });
      expectProblem(reply, 401, "invalid_credentials");
    }
    // Locked out even with the right password, here and at sign-in from the same address.
    const locked = await changePassword(user, {
      current_password: user.password,
      new_password: NEW_PASSWORD,
    });
    expectProblem(locked, 429, "rate_limited");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expectProblem(await signIn(user, user.password), 429, "rate_limited");
    // Another address is not locked out, and the password never changed.
    expect((await signIn(user, user.password, "10.251.0.7")).status).toBe(200);
    expect((await accountState(user)).audits).toEqual([]);
  });

  it("refuses a weak new password with 400 weak_password naming the field, and changes nothing", async () => {
    const user = await registerUser();
    const before = await accountState(user);
    for (const weak of ["short1", "no-digits-at-all", "1234567890123"]) {
      const reply = await changePassword(user, { current_password: user.password, new_password: weak });
      expectProblem(reply, 400, "weak_password");
      expect(reply.json.errors).toEqual([{ path: "new_password", message: expect.any(String) }]);
    }
    expectProblem(await changePassword(user, { current_password: user.password }), 400, "validation_failed");
    expectProblem(
      await changePassword(user, { current_password: user.password, new_password: "x".repeat(129) }),
      400,
      "validation_failed",
    );
    expect(await accountState(user)).toEqual(before);
    expect((await signIn(user, user.password)).status).toBe(200);
  });

  it("changes the password, ends every other session and closes its sockets, and keeps the caller's", async () => {
    const { passenger: caller, ride } = await rideWithDriver();
    const other = await signInAgain(caller);
    const otherChannel = await openSocket("/v1/ws", bearer(other.accessToken));
    const otherRide = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(other.accessToken));
    const ownChannel = await openSocket("/v1/ws", bearer(caller.accessToken));
    const ownRide = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(caller.accessToken));
    for (const socket of [otherChannel, otherRide, ownChannel, ownRide]) await expectOpen(socket);
    const before = await accountState(caller);

    const started = Date.now();
    const reply = await changePassword(caller, {
      current_password: caller.password,
      new_password: NEW_PASSWORD,
    });
    expect(reply.status, reply.text).toBe(204);

    await expectClosedWithin(otherChannel, 4401, started);
    await expectClosedWithin(otherRide, 4401, started);
    await expectOpen(ownChannel);
    await expectOpen(ownRide);

    const after = await accountState(caller);
    expect(after.row?.password_hash).not.toBe(before.row?.password_hash);
    expect(after.live).toBe(1);
    expect(after.audits).toHaveLength(1);
    expect(after.audits[0]).toMatchObject({ actor_id: caller.id });

    // The other session is over: its access token and a new socket are refused.
    expectProblem(await call("GET", "/v1/me", { token: other.accessToken }), 401, "invalid_token");
    expect((await (await openSocket("/v1/ws", bearer(other.accessToken))).closed).code).toBe(4401);

    // The caller's session goes on, over HTTP and through a refresh.
    expect((await call("GET", "/v1/me", { token: caller.accessToken })).status).toBe(200);
    const rotated = await call("POST", "/v1/auth/refresh", { body: { refresh_token: caller.refreshToken } });
    expect(rotated.status, rotated.text).toBe(200);
    expect((await call("GET", "/v1/me", { token: rotated.json.access_token })).status).toBe(200);

    // The old password no longer signs in; the new one does.
    expectProblem(await signIn(caller, caller.password), 401, "invalid_credentials");
    expect((await signIn(caller, NEW_PASSWORD)).status).toBe(200);

    // The other session's refresh token yields nothing.
    const refused = await call("POST", "/v1/auth/refresh", { body: { refresh_token: other.refreshToken } });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.json.access_token).toBeUndefined();
  });

  it("of two sessions changing the password at once, exactly one wins and the other session ends", async () => {
    const owner = await registerUser();
    const thief = await signInAgain(owner);
    const [mine, theirs] = await Promise.all([
      changePassword(owner, { current_password: owner.password, new_password: "owner-new-pass-1" }),
      changePassword(thief, { current_password: owner.password, new_password: "thief-new-pass-1" }),
    ]);
    const statuses = [mine.status, theirs.status].sort();
    expect(statuses, `${mine.text} ${theirs.text}`).toEqual([204, 401]);
    const [winner, winnerPassword, loserPassword] =
      mine.status === 204
        ? [owner, "owner-new-pass-1", "thief-new-pass-1"]
        : [thief, "thief-new-pass-1", "owner-new-pass-1"];
    const loser = winner === owner ? thief : owner;

    expectProblem(mine.status === 204 ? theirs : mine, 401, "invalid_token");
    expect((await signIn(owner, winnerPassword)).status).toBe(200);
    expectProblem(await signIn(owner, loserPassword), 401, "invalid_credentials");
    expect((await call("GET", "/v1/me", { token: winner.accessToken })).status).toBe(200);
    expectProblem(await call("GET", "/v1/me", { token: loser.accessToken }), 401, "invalid_token");
    expect((await accountState(owner)).audits).toHaveLength(1);
  });
});
