import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser } from "../helpers";

const q = (query: Record<string, string>) => `/v1/admin/audit-logs?${new URLSearchParams(query)}`;

async function block(staff: { accessToken: string }, userId: string, action: "block" | "unblock") {
  const reply = await call("POST", `/v1/admin/users/${userId}/${action}`, { token: staff.accessToken });
  expect(reply.status, reply.text).toBe(200);
  return reply;
}

describe("GET /v1/admin/audit-logs", () => {
  it("filters by actor, target and time range, newest first", async () => {
    const support = await createStaff("support");
    const other = await createStaff("admin");
    const passenger = await registerUser("passenger");
    const start = new Date().toISOString();
    await block(support, passenger.id, "block");
    const middle = new Date(Date.now() + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await block(other, passenger.id, "unblock");

    const all = await call("GET", q({ target_type: "user", target_id: passenger.id }), {
      token: support.accessToken,
    });
    expect(all.status, all.text).toBe(200);
    expect(all.json.items.map((e: { action: string; actor_id: string }) => [e.action, e.actor_id])).toEqual([
      ["user.unblock", other.id],
      ["user.block", support.id],
    ]);
    const mine = await call("GET", q({ actor_id: support.id }), { token: support.accessToken });
    expect(mine.json.items.map((e: { action: string }) => e.action)).toEqual(["user.block"]);
    const early = await call("GET", q({ target_id: passenger.id, from: start, to: middle }), {
      token: support.accessToken,
    });
    expect(early.json.items.map((e: { action: string }) => e.action)).toEqual(["user.block"]);
    const late = await call("GET", q({ target_id: passenger.id, from: middle }), {
      token: support.accessToken,
    });
    expect(late.json.items.map((e: { action: string }) => e.action)).toEqual(["user.unblock"]);
    const paged = await call("GET", q({ target_id: passenger.id, limit: "1" }), {
      token: support.accessToken,
    });
    expect(paged.json.items).toHaveLength(1);
    const rest = await call(
      "GET",
      q({ target_id: passenger.id, limit: "1", cursor: paged.json.next_cursor }),
      {
        token: support.accessToken,
      },
    );
    expect(rest.json.items.map((e: { action: string }) => e.action)).toEqual(["user.block"]);
  });

  it("refuses a malformed or inverted range naming the field", async () => {
    const support = await createStaff("support");
    const bad = await call("GET", q({ from: "yesterday" }), { token: support.accessToken });
    expectProblem(bad, 400, "validation_failed");
    expect(bad.json.errors.map((e: { path: string }) => e.path)).toEqual(["from"]);
    const inverted = await call("GET", q({ from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }), {
      token: support.accessToken,
    });
    expectProblem(inverted, 400, "validation_failed");
    expect(inverted.json.errors.map((e: { path: string }) => e.path)).toEqual(["to"]);
    const ops = await createStaff("ops");
    expectProblem(await call("GET", q({}), { token: ops.accessToken }), 403, "forbidden");
  });
});

describe("the audit log is append-only", () => {
  it("the database refuses to update or delete an entry", async () => {
    const support = await createStaff("support");
    const passenger = await registerUser("passenger");
    await block(support, passenger.id, "block");
    const row = await env.DB.prepare("SELECT * FROM audit_logs WHERE target_id = ?")
      .bind(passenger.id)
      .first();
    expect(row).not.toBeNull();
    await expect(
      env.DB.prepare("UPDATE audit_logs SET actor_id = NULL WHERE target_id = ?").bind(passenger.id).run(),
    ).rejects.toThrow(/audit_append_only/);
    await expect(
      env.DB.prepare("DELETE FROM audit_logs WHERE target_id = ?").bind(passenger.id).run(),
    ).rejects.toThrow(/audit_append_only/);
    expect(
      await env.DB.prepare("SELECT * FROM audit_logs WHERE target_id = ?").bind(passenger.id).first(),
    ).toEqual(row);
  });

  it("erasing a user leaves the entries about them alone and still succeeds", async () => {
    const support = await createStaff("support");
    const passenger = await registerUser("passenger");
    await block(support, passenger.id, "block");
    await block(support, passenger.id, "unblock");
    const before = await env.DB.prepare("SELECT * FROM audit_logs WHERE target_id = ? ORDER BY id")
      .bind(passenger.id)
      .all();
    // Blocking ended the passenger's sessions: sign in again to erase.
    const login = await call("POST", "/v1/auth/login", {
      body: { email: passenger.email, password: passenger.password },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expect(login.status, login.text).toBe(200);
    const erased = await call("DELETE", "/v1/me", {
      token: login.json.access_token,
      body: { password: passenger.password },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expect(erased.status, erased.text).toBe(204);
    const after = await env.DB.prepare("SELECT * FROM audit_logs WHERE target_id = ? ORDER BY id")
      .bind(passenger.id)
      .all();
    // The earlier entries are untouched; erasure appends its own.
    expect(after.results.slice(0, 2)).toEqual(before.results);
    expect(after.results.slice(2)).toEqual([expect.objectContaining({ action: "user.erase" })]);
  });
});
