import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type ExistingAccount,
  isSamePassword,
  newUserRow,
  planStaffAccount,
  type StaffRole,
  selectAccountSql,
  staffAccountSql,
} from "../../scripts/lib/users-sql.mjs";
import { call, createStaff, expectProblem, PASSWORD, registerUser, unique } from "../helpers";

const NEW_PASSWORD = "staff-password-2";

interface Options {
  role?: StaffRole;
  password?: string;
  takeOver?: boolean;
  unblock?: boolean;
}

/** What `npm run admin:create` does, step by step, against the test D1 instead of wrangler's. */
async function adminCreate(email: string, options: Options = {}) {
  const { role = "admin", password = NEW_PASSWORD, takeOver = false, unblock = false } = options;
  const existing = (await env.DB.prepare(selectAccountSql(email)).first<ExistingAccount>()) ?? undefined;
  const passwordChanged = existing ? !(await isSamePassword(password, existing.password_hash)) : true;
  const plan = planStaffAccount(existing, { takeOver, unblock, passwordChanged });
  if (plan.action === "refuse") return plan;
  const row = await newUserRow({ role, name: "Staff", email, password });
  for (const statement of staffAccountSql(plan, row)) await env.DB.prepare(statement).run();
  return plan;
}

async function account(email: string) {
  return env.DB.prepare("SELECT id, role, status FROM users WHERE email = ?")
    .bind(email)
    .first<{ id: string; role: string; status: string }>();
}

async function liveSessions(userId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL",
  )
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

async function block(userId: string) {
  await env.DB.prepare("UPDATE users SET status = 'blocked' WHERE id = ?").bind(userId).run();
}

async function signIn(email: string, password: string) {
  return call("POST", "/v1/auth/login", { body: { email, password } });
}

describe("admin:create on a new email", () => {
  it("creates an active staff account that can sign in", async () => {
    const email = `staff-${unique()}@example.com`;
    expect((await adminCreate(email, { role: "finance" })).action).toBe("create");
    expect(await account(email)).toMatchObject({ role: "finance", status: "active" });
    const reply = await signIn(email, NEW_PASSWORD);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.user.role).toBe("finance");
  });

  it("writes nothing if a stranger registered the email after the plan was made", async () => {
    const email = `staff-${unique()}@example.com`;
    const plan = planStaffAccount(undefined);
    const stranger = await registerUser("passenger", { email });
    const row = await newUserRow({ role: "admin", name: "Staff", email, password: NEW_PASSWORD });
    for (const statement of staffAccountSql(plan, row)) await env.DB.prepare(statement).run();
    expect(await account(email)).toEqual({ id: stranger.id, role: "passenger", status: "active" });
    expect(await liveSessions(stranger.id)).toBe(1);
  });
});

describe("admin:create on an existing staff account", () => {
  it("changes the role and password and ends the account's sessions", async () => {
    const staff = await createStaff("support");
    const plan = await adminCreate(staff.email, { role: "ops" });
    expect(plan).toMatchObject({ action: "update", takeOver: false, revokeSessions: true });
    expect(await account(staff.email)).toEqual({ id: staff.id, role: "ops", status: "active" });
    expect(await liveSessions(staff.id)).toBe(0);
    expectProblem(await signIn(staff.email, staff.password), 401, "invalid_credentials");
    expect((await signIn(staff.email, NEW_PASSWORD)).status).toBe(200);
  });

  it("keeps the sessions when only the role changes", async () => {
    const staff = await createStaff("support");
    const plan = await adminCreate(staff.email, { role: "ops", password: staff.password });
    expect(plan).toMatchObject({ action: "update", revokeSessions: false });
    expect(await account(staff.email)).toMatchObject({ role: "ops" });
    expect(await liveSessions(staff.id)).toBe(1);
    expect((await call("GET", "/v1/me", { token: staff.accessToken })).json.role).toBe("ops");
  });
});

describe.each(["passenger", "driver"] as const)("admin:create on an existing %s account", (role) => {
  it("refuses without --take-over and changes nothing", async () => {
    const user = await registerUser(role);
    const plan = await adminCreate(user.email);
    expect(plan.action).toBe("refuse");
    expect(() => staffAccountSql(plan, {} as never)).toThrow();
    expect(await account(user.email)).toEqual({ id: user.id, role, status: "active" });
    expect(await liveSessions(user.id)).toBe(1);
    expectProblem(await signIn(user.email, NEW_PASSWORD), 401, "invalid_credentials");
  });

  it("with --take-over, revokes every session first, so the registrant's tokens yield no staff session", async () => {
    const user = await registerUser(role);
    const second = await signIn(user.email, user.password);
    expect(second.status).toBe(200);
    expect(await liveSessions(user.id)).toBe(2);

    const plan = await adminCreate(user.email, { takeOver: true });
    expect(plan).toMatchObject({ action: "update", takeOver: true, revokeSessions: true });
    expect(await account(user.email)).toEqual({ id: user.id, role: "admin", status: "active" });
    expect(await liveSessions(user.id)).toBe(0);
    for (const refreshToken of [user.refreshToken, second.json.refresh_token]) {
      const refreshed = await call("POST", "/v1/auth/refresh", { body: { refresh_token: refreshToken } });
      expect(refreshed.status, refreshed.text).toBe(401);
    }
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(401);
  });

  it("revokes the sessions even when the operator gives the registrant's own password", async () => {
    const user = await registerUser(role);
    const plan = await adminCreate(user.email, { takeOver: true, password: PASSWORD });
    expect(plan).toMatchObject({ action: "update", revokeSessions: true });
    expect(await liveSessions(user.id)).toBe(0);
  });
});

describe("admin:create on a blocked account", () => {
  it("keeps a blocked staff account blocked", async () => {
    const staff = await createStaff("finance");
    await block(staff.id);
    const plan = await adminCreate(staff.email, { role: "admin" });
    expect(plan).toMatchObject({ action: "update", unblock: false, staysBlocked: true });
    expect(await account(staff.email)).toEqual({ id: staff.id, role: "admin", status: "blocked" });
    expectProblem(await signIn(staff.email, NEW_PASSWORD), 403, "user_blocked");
  });

  it("unblocks it only with --unblock", async () => {
    const staff = await createStaff("finance");
    await block(staff.id);
    const plan = await adminCreate(staff.email, { unblock: true });
    expect(plan).toMatchObject({ action: "update", unblock: true, staysBlocked: false });
    expect(await account(staff.email)).toMatchObject({ role: "admin", status: "active" });
    expect((await signIn(staff.email, NEW_PASSWORD)).status).toBe(200);
  });

  it("refuses a blocked passenger, and keeps it blocked when taken over", async () => {
    const user = await registerUser("passenger");
    await block(user.id);
    expect((await adminCreate(user.email)).action).toBe("refuse");
    expect(await account(user.email)).toEqual({ id: user.id, role: "passenger", status: "blocked" });

    await adminCreate(user.email, { takeOver: true });
    expect(await account(user.email)).toEqual({ id: user.id, role: "admin", status: "blocked" });
    expect(await liveSessions(user.id)).toBe(0);
  });
});
