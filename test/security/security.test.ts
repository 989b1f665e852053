import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { expectProblem, type Reply } from "../helpers";
import { ALL_ROLES, actor, expiredToken, foreignToken, freshUser } from "./actors";
import { allowedRoles, legitimateCaller } from "./callers";
import { d1Snapshot, expectUnchanged } from "./d1-snapshot";
import { openapiDocument, operationOf, operationsOf, requiresAuth } from "./openapi";
import { quietDispatch } from "./quiet-dispatch";
import { send, splitKey } from "./request";
import { type Access, type Resource, ROUTES, type RouteEntry, UNDOCUMENTED_ROUTES } from "./routes.table";

// Every case below is generated from the route table: a new operation is covered by adding its
// entry. Each refusal asserts the problem document and that nothing changed: the rows and the
// content of every D1 table (the platform's and the Efí sandbox's) and the resource's own row.

const MISSING_ID = "zzz_01JD8Y3M0S3Q4VQK6E9Q1T2B5C";

const resources = new Map<string, Promise<Resource>>();

/** The entry's resource, built once per file for all its cases. */
function resourceOf(key: string, entry: RouteEntry): Promise<Resource> | undefined {
  if (!entry.resource) return undefined;
  let resource = resources.get(key);
  if (!resource) {
    resource = entry.resource.build();
    resources.set(key, resource);
  }
  return resource;
}

async function resourceRow(resource: Resource | undefined): Promise<unknown> {
  if (!resource) return null;
  return env.DB.prepare(`SELECT * FROM "${resource.table}" WHERE id = ?`).bind(resource.id).first();
}

/** Runs one refused request and asserts its problem and that D1 and the resource did not move. */
async function expectRefusal(
  key: string,
  entry: RouteEntry,
  resource: Resource | undefined,
  request: () => Promise<Reply>,
  expected: { status: number; code: string },
) {
  await quietDispatch();
  const [rowBefore, before] = await Promise.all([resourceRow(resource), d1Snapshot({ content: true })]);
  const reply = await request();
  const [rowAfter, after] = await Promise.all([resourceRow(resource), d1Snapshot({ content: true })]);
  expectProblem(reply, expected.status, expected.code);
  expectUnchanged(before, after, `refused ${key}`, entry.writesOnRefusal?.tables);
  expect(rowAfter, `the ${resource?.table} row of ${resource?.id}`).toEqual(rowBefore);
}

describe("the route table", () => {
  it("has exactly one entry per operation of /openapi.json", async () => {
    const documented = operationsOf(await openapiDocument()).map((o) => o.key);
    const missing = documented.filter((key) => !(key in ROUTES));
    const stale = Object.keys(ROUTES).filter((key) => !documented.includes(key));
    expect(missing, "operations without an entry in test/security/routes.table.ts").toEqual([]);
    expect(stale, "entries naming no operation of /openapi.json").toEqual([]);
  });

  it("agrees with the document on which operations need a bearer token", async () => {
    const doc = await openapiDocument();
    const disagree = Object.entries(ROUTES)
      .filter(([key, entry]) => requiresAuth(operationOf(doc, key).op) === "public" in entry.access)
      .map(([key]) => key);
    expect(disagree).toEqual([]);
  });

  it("gives a resource to exactly the operations whose path has an id", () => {
    const wrong = Object.entries(ROUTES)
      .filter(([key, entry]) => splitKey(key).path.includes("{id}") !== Boolean(entry.resource))
      .map(([key]) => key);
    expect(wrong).toEqual([]);
  });

  it("names every route the app serves outside the document, with a reason", async () => {
    const documented = new Set(operationsOf(await openapiDocument()).map((o) => o.key));
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const unlisted = [...served].filter((key) => !documented.has(key) && !(key in UNDOCUMENTED_ROUTES));
    const stale = Object.keys(UNDOCUMENTED_ROUTES).filter((key) => !served.has(key) || documented.has(key));
    expect(unlisted, "routes served but neither documented nor in UNDOCUMENTED_ROUTES").toEqual([]);
    expect(stale, "UNDOCUMENTED_ROUTES entries that are documented or not served").toEqual([]);
  });
});

for (const [key, entry] of Object.entries(ROUTES)) {
  const access = entry.access;
  describe(key, () => {
    if ("public" in access) {
      describePublicRoute(key, entry, access);
      return;
    }
    const allowed = allowedRoles(access);
    const denied = ALL_ROLES.filter((role) => !allowed.includes(role));
    const setup = async () => {
      const resource = await resourceOf(key, entry);
      const caller = await legitimateCaller(entry, resource);
      return { resource, caller, spec: entry.request?.({ caller, id: resource?.id }) };
    };

    it("without a token: 401 authentication_required, nothing changed", async () => {
      const { resource, spec } = await setup();
      await expectRefusal(key, entry, resource, () => send(key, { id: resource?.id, spec }), {
        status: 401,
        code: "authentication_required",
      });
    });

    it("with a non-Bearer Authorization header: 401 authentication_required, nothing changed", async () => {
      const { resource, caller, spec } = await setup();
      const headers = { authorization: `Basic ${btoa(`${caller.email}:${caller.password}`)}` };
      await expectRefusal(key, entry, resource, () => send(key, { id: resource?.id, spec, headers }), {
        status: 401,
        code: "authentication_required",
      });
    });

    it("with the caller's token expired: 401 token_expired, nothing changed", async () => {
      const { resource, caller, spec } = await setup();
      const token = await expiredToken(caller);
      await expectRefusal(key, entry, resource, () => send(key, { id: resource?.id, spec, token }), {
        status: 401,
        code: "token_expired",
      });
    });

    it("with the caller's claims signed by a foreign key: 401 invalid_token, nothing changed", async () => {
      const { resource, caller, spec } = await setup();
      const token = await foreignToken(caller);
      await expectRefusal(key, entry, resource, () => send(key, { id: resource?.id, spec, token }), {
        status: 401,
        code: "invalid_token",
      });
    });

    for (const role of denied) {
      it(`as ${role}: 403 forbidden, nothing changed`, async () => {
        const { resource } = await setup();
        const outsider = await actor(role);
        const request = entry.request?.({ caller: outsider, id: resource?.id });
        await expectRefusal(
          key,
          entry,
          resource,
          () => send(key, { id: resource?.id, spec: request, token: outsider.accessToken }),
          { status: 403, code: "forbidden" },
        );
      });
    }

    for (const role of allowed) {
      // The other half of the gate: the table's roles are not narrower than the route's. The
      // probe names no real resource and sends a body of the wrong shape, so it is refused after
      // the gate; only a write with neither id nor body (going offline) gets a user of its own.
      it(`as ${role}: passes the role and permission gate`, async () => {
        const doc = await openapiDocument();
        const hasBody = Boolean(operationOf(doc, key).op.requestBody);
        const { method, path } = splitKey(key);
        const harmless = method === "GET" || hasBody || path.includes("{id}");
        const user = harmless ? await actor(role) : await freshUser(role);
        const reply = await send(key, {
          id: MISSING_ID,
          token: user.accessToken,
          spec: hasBody ? { body: [] } : {},
          headers: { "idempotency-key": `probe-${role}-${Date.now()}` },
        });
        expect(reply.status, reply.text).not.toBe(401);
        expect(reply.status, reply.text).toBeLessThan(500);
        if (reply.status === 403) expect(reply.json?.code, reply.text).not.toBe("forbidden");
      });
    }

    const resourceSpec = entry.resource;
    if (!resourceSpec) return;

    it(`naming an id never issued: 404 ${resourceSpec.missingCode ?? "not_found"}, nothing changed`, async () => {
      const { resource, caller, spec } = await setup();
      await expectRefusal(
        key,
        entry,
        resource,
        () => send(key, { id: MISSING_ID, spec, token: caller.accessToken }),
        {
          status: 404,
          code: resourceSpec.missingCode ?? "not_found",
        },
      );
    });

    const crossUser = resourceSpec.crossUser ?? { status: 404, code: "not_found", reason: "" };
    // Staff routes act on anyone's resource: the permission is the gate, tested above.
    if ("skip" in crossUser) return;
    for (const role of allowed) {
      it(`as another ${role}, naming A's id: ${crossUser.status} ${crossUser.code}, nothing changed`, async () => {
        const { resource } = await setup();
        const intruder = await actor(role);
        const spec = entry.request?.({ caller: intruder, id: resource?.id });
        await expectRefusal(
          key,
          entry,
          resource,
          () => send(key, { id: resource?.id, spec, token: intruder.accessToken }),
          crossUser,
        );
      });
    }
  });
}

function describePublicRoute(key: string, entry: RouteEntry, access: Extract<Access, { public: string }>) {
  it(`needs no bearer token (${access.public})`, async () => {
    const reply = await send(key, { spec: { query: secretQuery(access) } });
    expect(reply.status, reply.text).toBeLessThan(500);
    expect(reply.json?.code, reply.text).not.toBe("authentication_required");
  });
  const secret = access.secret;
  if (!secret) return;
  it(`without the ${secret.query} secret: ${secret.refusal.status} ${secret.refusal.code}, nothing changed`, async () => {
    const spec = entry.request?.({});
    await expectRefusal(key, entry, undefined, () => send(key, { spec }), secret.refusal);
  });
  it(`with a wrong ${secret.query} secret: ${secret.refusal.status} ${secret.refusal.code}, nothing changed`, async () => {
    const base = entry.request?.({}) ?? {};
    const spec = { ...base, query: { ...base.query, [secret.query]: `${secret.value()}x` } };
    await expectRefusal(key, entry, undefined, () => send(key, { spec }), secret.refusal);
  });
}

function secretQuery(access: Extract<Access, { public: string }>): Record<string, string> {
  return access.secret ? { [access.secret.query]: access.secret.value() } : {};
}
