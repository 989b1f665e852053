import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, expectProblem, readReply, registerUser } from "../helpers";
import { rideWithDriver } from "../ride-helpers";
import { legitimateCaller } from "../security/callers";
import { type D1Snapshot, expectUnchanged } from "../security/d1-snapshot";
import {
  documentedCodes,
  documentedStatuses,
  openapiDocument,
  operationOf,
  operationsOf,
  statusesOfDocument,
} from "../security/openapi";
import { settledSnapshot } from "../security/quiet-dispatch";
import { ROUTES, type RouteEntry } from "../security/routes.table";
import { replyProblem } from "./replies";
import { type FuzzRequest, mutatedRequest, type Overrides, toRequest, validRequest } from "./requests";

// Every operation of /openapi.json is sent requests drawn from its own schemas, valid and
// mutated, signed as a caller the route table lets in (its resource's owner where the path has
// an id). Every reply must be documented for the operation, never a 5xx, every 4xx a problem
// document with a documented code, and a 4xx must leave D1 as it was: row counts of every table
// of both databases, compared around EACH request (the snapshot after one request is the
// baseline of the next; a 2xx may change things and just moves the baseline).
//
// FUZZ_RUNS (runs per property; two properties per operation) and FUZZ_SEED come from the
// environment through vitest.config.ts. The seed is fixed by default, and each operation derives
// its own from it, so a failure reproduces with the same seed and adding an operation does not
// reshuffle the others.

// 2 × 100 requests per operation: about 17,600 in all, some four minutes alone on a 2-core machine.
const DEFAULT_RUNS = 100;
const DEFAULT_SEED = 20_261_130;

const RUNS = Number(env.FUZZ_RUNS) > 0 ? Math.floor(Number(env.FUZZ_RUNS)) : DEFAULT_RUNS;
const SEED = env.FUZZ_SEED && Number.isInteger(Number(env.FUZZ_SEED)) ? Number(env.FUZZ_SEED) : DEFAULT_SEED;

function seedOf(key: string, property: string): number {
  let hash = SEED | 0;
  for (const char of `${key} ${property}`) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/** The caller and the parameter values that reach real data: the resource's id, fresh idempotency keys, the webhook secret. */
async function fuzzContext(entry: RouteEntry): Promise<{ token?: string; overrides: Overrides }> {
  const access = entry.access;
  if ("public" in access) {
    const secret = access.secret;
    return { overrides: secret ? { query: { [secret.query]: fc.constant(secret.value()) } } : {} };
  }
  const resource = await entry.resource?.build();
  const caller = await legitimateCaller(entry, resource);
  return {
    token: caller.accessToken,
    overrides: {
      ...(resource ? { path: { id: fc.constant(resource.id) } } : {}),
      header: { "idempotency-key": fc.uuid() },
    },
  };
}

const summary = (request: FuzzRequest) =>
  JSON.stringify(request, (_, value) =>
    typeof value === "string" && value.length > 120 ? `${value.slice(0, 60)}…(${value.length} chars)` : value,
  );

describe("the fuzz suite", () => {
  it("fuzzes every operation of /openapi.json or names why not", async () => {
    const documented = operationsOf(await openapiDocument()).map((o) => o.key);
    expect(documented.filter((key) => !(key in ROUTES))).toEqual([]);
  });

  it("reads the documented codes of every problem response (else code checks would be void)", async () => {
    const doc = await openapiDocument();
    const unreadable = operationsOf(doc).flatMap((o) =>
      documentedStatuses(o.op)
        .filter((status) => o.op.responses[String(status)]?.content?.["application/problem+json"])
        .filter((status) => !documentedCodes(doc, o.op, status)?.length)
        .map((status) => `${o.key} ${status}`),
    );
    expect(unreadable).toEqual([]);
  });
});

describe("counterexamples the fuzz suite found, pinned", () => {
  it("GET /v1/rides/ (a trailing slash) is not found, not a 405 that names GET as allowed", async () => {
    const passenger = await registerUser("passenger");
    expectProblem(await call("GET", "/v1/rides/", { token: passenger.accessToken }), 404, "not_found");
  });

  it("a body sent to an operation that takes none gets a documented problem", async () => {
    const { ride, driver } = await rideWithDriver();
    const reply = await call("POST", `/v1/rides/${ride.id}/arrive`, {
      token: driver.accessToken,
      headers: { "content-type": "text/plain" },
      raw: "{}",
    });
    expectProblem(reply, 415, "unsupported_media_type");
  });
});

for (const [key, entry] of Object.entries(ROUTES)) {
  if (entry.fuzz) continue; // the table says why this one is not fuzzed
  it(`${key}: valid and mutated requests get documented answers; refused ones change nothing`, async () => {
    const doc = await openapiDocument();
    const operation = operationOf(doc, key);
    const documentStatuses = statusesOfDocument(doc);
    const { token, overrides } = await fuzzContext(entry);
    let baseline: D1Snapshot = await settledSnapshot();

    const check = async (request: FuzzRequest) => {
      const reply = await readReply(await exports.default.fetch(toRequest(operation, request, token)));
      const after = await settledSnapshot();
      const before = baseline;
      baseline = after;
      const problem = replyProblem(doc, operation, reply, documentStatuses);
      if (problem) throw new Error(`${key} ${problem}\nrequest: ${summary(request)}`);
      if (reply.status >= 400) {
        expectUnchanged(before, after, `${key} refused with ${reply.json?.code} (${summary(request)})`, [
          ...(entry.writesOnRefusal?.tables ?? []),
        ]);
      }
    };

    await fc.assert(fc.asyncProperty(validRequest(doc, operation, overrides), check), {
      numRuns: RUNS,
      seed: seedOf(key, "valid"),
    });
    await fc.assert(fc.asyncProperty(mutatedRequest(doc, operation, overrides), check), {
      numRuns: RUNS,
      seed: seedOf(key, "mutated"),
    });
  }, 120_000);
}
