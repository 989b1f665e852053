import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser } from "../helpers";

describe("GET /v1/admin/users: staff find users", () => {
  it("by the start of an email, by exact id, narrowed by role and status, newest first", async () => {
    const support = await createStaff("support");
    const marker = `find${Date.now()}`;
    const a = await registerUser("passenger", { email: `${marker}-a@example.com` });
    const b = await registerUser("driver", { email: `${marker}-b@example.com` });

    const byEmail = await call("GET", `/v1/admin/users?q=${marker}`, { token: support.accessToken });
    expect(byEmail.status, byEmail.text).toBe(200);
    expect(byEmail.json.items.map((u: { id: string }) => u.id)).toEqual([b.id, a.id]);
    expect(byEmail.json.items[0]).toMatchObject({ email: `${marker}-b@example.com`, role: "driver" });

    const drivers = await call("GET", `/v1/admin/users?q=${marker}&role=driver`, {
      token: support.accessToken,
    });
    expect(drivers.json.items.map((u: { id: string }) => u.id)).toEqual([b.id]);

    const byId = await call("GET", `/v1/admin/users?q=${a.id}`, { token: support.accessToken });
    expect(byId.json.items.map((u: { id: string }) => u.id)).toEqual([a.id]);

    const paged = await call("GET", `/v1/admin/users?q=${marker}&limit=1`, { token: support.accessToken });
    expect(paged.json.items).toHaveLength(1);
    const next = await call("GET", `/v1/admin/users?q=${marker}&limit=1&cursor=${paged.json.next_cursor}`, {
      token: support.accessToken,
    });
    expect(next.json.items.map((u: { id: string }) => u.id)).toEqual([a.id]);
    expect(next.json.next_cursor).toBeNull();
  });

  it("a % or _ in the query is a literal character, not a wildcard", async () => {
    const support = await createStaff("support");
    const everything = await call("GET", "/v1/admin/users?q=%25", { token: support.accessToken });
    expect(everything.status, everything.text).toBe(200);
    expect(everything.json.items).toEqual([]);
    const underscore = await call("GET", "/v1/admin/users?q=_", { token: support.accessToken });
    expect(underscore.json.items).toEqual([]);
  });

  it("a passenger or finance staff (no users:read) gets 403; an unknown role 400", async () => {
    const passenger = await registerUser("passenger");
    expectProblem(await call("GET", "/v1/admin/users", { token: passenger.accessToken }), 403, "forbidden");
    const finance = await createStaff("finance");
    expectProblem(await call("GET", "/v1/admin/users", { token: finance.accessToken }), 403, "forbidden");
    const support = await createStaff("support");
    expectProblem(
      await call("GET", "/v1/admin/users?role=king", { token: support.accessToken }),
      400,
      "validation_failed",
    );
  });
});
