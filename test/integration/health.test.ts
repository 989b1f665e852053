import { describe, expect, it } from "vitest";
import { call, expectProblem } from "../helpers";

describe("service routes", () => {
  it("reports D1 reachable on /health", async () => {
    const reply = await call("GET", "/health");
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: "ok", d1: "ok" });
    expect(reply.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves an OpenAPI 3.1 document naming the auth routes", async () => {
    const reply = await call("GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.json.openapi).toBe("3.1.0");
    expect(Object.keys(reply.json.paths)).toEqual(
      expect.arrayContaining(["/health", "/v1/auth/register", "/v1/auth/login", "/v1/me"]),
    );
    expect(reply.json.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });

  it("serves the reference UI on /docs", async () => {
    const reply = await call("GET", "/docs");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toContain("text/html");
    expect(reply.text).toContain("/docs/docs.js"); // which starts the reference on /openapi.json
  });

  it("answers unknown routes with a 404 problem", async () => {
    const reply = await call("GET", "/v1/nothing-here");
    expectProblem(reply, 404, "not_found");
    expect(reply.json.request_id).toBe(reply.headers.get("x-request-id"));
  });

  it("answers a wrong method with 405 and an Allow header", async () => {
    const reply = await call("DELETE", "/v1/auth/login");
    expectProblem(reply, 405, "method_not_allowed");
    expect(reply.headers.get("allow")).toBe("POST");
  });

  it("sets security headers and a strict content security policy", async () => {
    const reply = await call("GET", "/health");
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    expect(reply.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("allows CORS only for configured origins", async () => {
    const allowed = await call("OPTIONS", "/v1/me", {
      headers: { origin: "http://localhost:3000", "access-control-request-method": "GET" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const other = await call("OPTIONS", "/v1/me", {
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
