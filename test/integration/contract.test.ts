import { env } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { type Contract, contractCheck, contractOf, contractViolation } from "../../src/http/contract";
import { createRouter, jsonContent, problemResponses } from "../../src/http/router";
import {
  ApiError,
  PROBLEMS,
  type ProblemCode,
  problemDocument,
  problemResponse,
} from "../../src/lib/problem";
import { call, expectProblem, readReply } from "../helpers";

/** What the body limit and the JSON guard answer on any write under /v1, before the route runs. */
const GUARD_PROBLEMS: ProblemCode[] = ["malformed_json", "payload_too_large", "unsupported_media_type"];

type Operation = {
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};

async function openapiDocument() {
  const reply = await call("GET", "/openapi.json");
  expect(reply.status).toBe(200);
  return reply.json as { paths: Record<string, Record<string, Operation>> };
}

function operationsOf(document: { paths: Record<string, Record<string, Operation>> }) {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      operation,
    })),
  );
}

function documented(contract: Contract, name: string, status: number): string[] {
  const operation = [...contract.values()].find((entry) => entry.name === name);
  return [...(operation?.statuses.get(status) ?? [])].sort();
}

/** A small app with the check mounted; `/things/{id}` answers the problem code given in the query. */
function tinyApp() {
  const app = createRouter();
  app.use("*", contractCheck(app));
  const special = createRoute({
    method: "get",
    path: "/things/special",
    responses: { 200: jsonContent(z.object({}), "Never"), ...problemResponses("driver_offline") },
  });
  app.openapi(special, () => {
    throw new ApiError("driver_offline");
  });
  const route = createRoute({
    method: "get",
    path: "/things/{id}",
    request: { params: z.object({ id: z.string() }), query: z.object({ answer: z.string() }) },
    responses: {
      200: jsonContent(z.object({ id: z.string() }), "The thing"),
      ...problemResponses("validation_failed", "not_found", "ride_already_accepted"),
    },
  });
  app.openapi(route, (c) => {
    const { answer } = c.req.valid("query");
    if (answer === "ok") return c.json({ id: c.req.valid("param").id }, 200);
    if (answer === "teapot") return c.text("short and stout", 418) as never;
    throw new ApiError(answer as ProblemCode);
  });
  app.get("/plain", (c) => c.text("not an operation", 418));
  app.onError((error, c) => {
    const code = error instanceof ApiError ? error.code : "internal_error";
    return problemResponse(problemDocument(code, error.message, { requestId: c.get("requestId") }));
  });
  const fetch = async (path: string, appEnv = "test") =>
    readReply(await app.request(path, {}, { APP_ENV: appEnv } as Env));
  return { fetch };
}

describe("the contract check", () => {
  it("lets a documented problem through unchanged", async () => {
    const { fetch } = tinyApp();
    expectProblem(await fetch("/things/1?answer=ride_already_accepted"), 409, "ride_already_accepted");
    expectProblem(await fetch("/things/1?answer=not_found"), 404, "not_found");
    expect((await fetch("/things/1?answer=ok")).json).toEqual({ id: "1" });
  });

  it("judges a reply by the route that answered, not by a later route matching the same URL", async () => {
    const { fetch } = tinyApp();
    expectProblem(await fetch("/things/special"), 409, "driver_offline");
  });

  it("turns a problem code not documented for its status into a 500 naming route, status and code", async () => {
    const { fetch } = tinyApp();
    const reply = await fetch("/things/1?answer=driver_credit_insufficient");
    expectProblem(reply, 500, "internal_error");
    expect(reply.json.detail).toContain("GET /things/{id} answered 409 driver_credit_insufficient");
    expect(reply.json.detail).toContain("ride_already_accepted");
  });

  it("turns an undocumented status into a 500", async () => {
    const { fetch } = tinyApp();
    const teapot = await fetch("/things/1?answer=teapot");
    expectProblem(teapot, 500, "internal_error");
    expect(teapot.json.detail).toContain("GET /things/{id} answered 418");
    const tooMany = await fetch("/things/1?answer=rate_limited");
    expectProblem(tooMany, 500, "internal_error");
    expect(tooMany.json.detail).toContain("answered 429 rate_limited");
  });

  it("is off outside the test environment and ignores routes that are not operations", async () => {
    const { fetch } = tinyApp();
    expectProblem(
      await fetch("/things/1?answer=driver_credit_insufficient", "production"),
      409,
      "driver_credit_insufficient",
    );
    expect((await fetch("/plain")).status).toBe(418);
  });

  it("is mounted in the app, after onError has turned a thrown ApiError into its problem", async () => {
    const app = createApp();
    const probe = createRoute({
      method: "get",
      path: "/v1/contract-probe",
      responses: { 200: jsonContent(z.object({}), "Never"), ...problemResponses("not_found") },
    });
    app.openapi(probe, () => {
      throw new ApiError("registration_conflict");
    });
    const reply = await readReply(await app.request("/v1/contract-probe", {}, env));
    expectProblem(reply, 500, "internal_error");
    expect(reply.json.detail).toContain("GET /v1/contract-probe answered 409 registration_conflict");
    expect(reply.headers.get("x-request-id")).toBe(reply.json.request_id);
  });

  it("passes the app's own documented problems, and exempts unmatched paths and the document", async () => {
    expectProblem(await call("POST", "/v1/rides/ride_nope/accept"), 401, "authentication_required");
    expectProblem(await call("POST", "/v1/auth/login", { body: { email: 1 } }), 400, "validation_failed");
    expectProblem(await call("GET", "/v1/no-such-thing"), 404, "not_found");
    expectProblem(await call("DELETE", "/v1/rides"), 405, "method_not_allowed");
    expect((await call("GET", "/openapi.json")).status).toBe(200);
  });
});

describe("contractViolation", () => {
  it("reports an undocumented status or code of a real operation, and nothing else", async () => {
    const contract = contractOf(await openapiDocument());
    const accept = { method: "POST", path: "/v1/rides/:id/accept" };
    expect(contractViolation(contract, accept, { status: 200 })).toBeUndefined();
    expect(
      contractViolation(contract, accept, { status: 409, code: "ride_already_accepted" }),
    ).toBeUndefined();
    expect(contractViolation(contract, accept, { status: 418 })).toMatch(
      /^POST \/v1\/rides\/\{id\}\/accept answered 418, but .* do not document status 418$/,
    );
    expect(contractViolation(contract, accept, { status: 409, code: "registration_conflict" })).toMatch(
      /^POST \/v1\/rides\/\{id\}\/accept answered 409 registration_conflict, but .* document only .*ride_already_accepted/,
    );
    expect(contractViolation(contract, accept, { status: 409 })).toContain(
      "documented as a problem document",
    );
    expect(
      contractViolation(contract, { method: "GET", path: "/v1/rides/:id/ws" }, { status: 418 }),
    ).toBeUndefined();
  });

  it("reads the codes the accept route documents, including the driver's prepaid credit", async () => {
    const contract = contractOf(await openapiDocument());
    expect(documented(contract, "POST /v1/rides/{id}/accept", 409)).toContain("driver_credit_insufficient");
    expect(documented(contract, "POST /v1/rides/{id}/accept", 500)).toEqual(["internal_error"]);
    expect(documented(contract, "POST /v1/rides/{id}/accept", 503)).toEqual(["misconfigured"]);
  });
});

describe("every operation in /openapi.json", () => {
  it("documents 401 when it needs a token, 400 validation_failed when it takes input, and 500 internal_error", async () => {
    const document = await openapiDocument();
    const contract = contractOf(document);
    const missing: string[] = [];
    for (const { name, operation } of operationsOf(document)) {
      const codes = (status: number) => documented(contract, name, status);
      if ((operation.security ?? []).length > 0 && !codes(401).includes("authentication_required")) {
        missing.push(`${name}: 401 authentication_required`);
      }
      const takesInput = operation.requestBody !== undefined || (operation.parameters ?? []).length > 0;
      if (takesInput && !codes(400).includes("validation_failed"))
        missing.push(`${name}: 400 validation_failed`);
      if (!codes(500).includes("internal_error")) missing.push(`${name}: 500 internal_error`);
    }
    expect(missing).toEqual([]);
  });

  it("documents the JSON guard's and body limit's problems when it is a write under /v1, body or not", async () => {
    const document = await openapiDocument();
    const contract = contractOf(document);
    const missing: string[] = [];
    for (const { name, operation } of operationsOf(document)) {
      if (!/^(POST|PUT|PATCH) \/v1\//.test(name)) continue;
      // A file upload (a body that is not JSON) skips the JSON guard and sets its own size limit.
      const content = (operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
      const fileUpload = content !== undefined && !("application/json" in content);
      for (const code of fileUpload ? (["payload_too_large"] as ProblemCode[]) : GUARD_PROBLEMS) {
        const status = PROBLEMS[code].status;
        if (!documented(contract, name, status).includes(code)) missing.push(`${name}: ${status} ${code}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("narrows each problem response to codes of its own status", async () => {
    const document = await openapiDocument();
    const wrong: string[] = [];
    for (const operation of contractOf(document).values()) {
      for (const [status, codes] of operation.statuses) {
        for (const code of codes ?? []) {
          if (PROBLEMS[code as ProblemCode]?.status !== status)
            wrong.push(`${operation.name}: ${status} ${code}`);
        }
        if (codes?.size === 0) wrong.push(`${operation.name}: ${status} lists no code`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
