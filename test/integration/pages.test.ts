import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser } from "../helpers";

// The reference at /docs and the staff console at /admin: static files built by
// `npm run build:assets`, served by the Worker from Workers Static Assets under a CSP that allows
// this origin only and no inline script or style.

function expectStrictPageCsp(headers: Headers) {
  const csp = headers.get("content-security-policy") ?? "";
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toMatch(/https?:/);
}

describe("the pages", () => {
  for (const [path, script] of [
    ["/docs", "/docs/docs.js"],
    ["/admin", "/admin/console.js"],
  ] as const) {
    it(`${path} loads only this origin's files, under a strict CSP`, async () => {
      const page = await call("GET", path);
      expect(page.status, page.text).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      expectStrictPageCsp(page.headers);
      expect(page.text).toContain(`src="${script}"`);
      expect(page.text).not.toMatch(/<script>(?!<)|<style|style="|https?:\/\//);
      const file = await call("GET", script);
      expect(file.status).toBe(200);
      expect(file.headers.get("content-type")).toMatch(/javascript/);
      expectStrictPageCsp(file.headers);
    });
  }

  it("answers a file that does not exist with the API's 404 problem", async () => {
    expectProblem(await call("GET", "/admin/nothing.js"), 404, "not_found");
    expectProblem(await call("GET", "/docs/../wrangler.toml"), 404, "not_found");
  });

  it("keeps the API's own CSP off the pages' paths", async () => {
    const reply = await call("GET", "/health");
    expect(reply.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(reply.headers.get("content-security-policy")).not.toContain("script-src");
  });
});

describe("GET /v1/me: permissions, which the console shows pages by", () => {
  it("lists the role's permissions: all for an admin, fewer for support, none for a passenger", async () => {
    const admin = await createStaff("admin");
    const support = await createStaff("support");
    const passenger = await registerUser("passenger");
    const permissions = async (token: string) =>
      (await call("GET", "/v1/me", { token })).json.permissions as string[];
    expect(await permissions(admin.accessToken)).toEqual(
      expect.arrayContaining(["pricing:write", "reports:read"]),
    );
    const supportCan = await permissions(support.accessToken);
    expect(supportCan).toContain("users:block");
    expect(supportCan).not.toContain("pricing:write");
    expect(await permissions(passenger.accessToken)).toEqual([]);
  });
});
