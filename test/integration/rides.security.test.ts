import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import {
  completeAtDropoff,
  onlineDriver,
  PAULISTA,
  postRide,
  requestedRide,
  rideState,
  rideWithDriver,
  SE,
} from "../ride-helpers";

// The signing key of vitest.config.ts, so an expired token differs from a real one only in `exp`.
const TEST_KID = "test-current";
const TEST_SECRET = "test-current-signing-key-0123456789abcdef";

function expiredToken(user: TestUser): Promise<string> {
  const { sid } = decodeJwt(user.accessToken);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: user.role, sid })
    .setProtectedHeader({ alg: "HS256", kid: TEST_KID, typ: "JWT" })
    .setSubject(user.id)
    .setIssuer("mobility-edge-api")
    .setAudience("mobility-apps")
    .setIssuedAt(now - 960)
    .setExpirationTime(now - 60)
    .sign(new TextEncoder().encode(TEST_SECRET));
}

const NEW_RIDE = { pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" };

/** Every ride route: method, path (`{id}` is a real ride), body, and the roles it is for. */
const RIDE_ROUTES: [string, string, unknown, string[]][] = [
  ["POST", "/v1/rides", NEW_RIDE, ["passenger"]],
  ["GET", "/v1/rides", undefined, ["passenger", "driver"]],
  // Any signed-in user may ask; who may see the ride is the ride's business (404 below).
  ["GET", "/v1/rides/{id}", undefined, ["passenger", "driver", "admin", "support"]],
  ["POST", "/v1/rides/{id}/accept", undefined, ["driver"]],
  ["POST", "/v1/rides/{id}/arrive", undefined, ["driver"]],
  ["POST", "/v1/rides/{id}/start", undefined, ["driver"]],
  ["POST", "/v1/rides/{id}/complete", { distance_m: 1000, duration_s: 120 }, ["driver"]],
  ["POST", "/v1/rides/{id}/cancel", { reason: "changed plans" }, ["passenger", "driver"]],
  ["POST", "/v1/rides/{id}/rating", { stars: 5 }, ["passenger", "driver"]],
];

describe.each(RIDE_ROUTES)("%s %s without valid credentials", (method, template, body) => {
  async function attempt(headers: Record<string, string>) {
    const { ride } = await requestedRide();
    const before = await rideState(ride.id);
    const reply = await call(method, template.replace("{id}", ride.id), {
      body,
      headers: { "idempotency-key": unique(), ...headers },
    });
    expect(await rideState(ride.id)).toEqual(before);
    return reply;
  }

  it("answers 401 authentication_required without a token", async () => {
    expectProblem(await attempt({}), 401, "authentication_required");
  });

  it("answers 401 authentication_required to a non-Bearer Authorization header", async () => {
    expectProblem(await attempt({ authorization: `Basic ${btoa("a:b")}` }), 401, "authentication_required");
  });

  it("answers 401 invalid_token to a garbage token", async () => {
    expectProblem(await attempt({ authorization: "Bearer aaa.bbb.ccc" }), 401, "invalid_token");
  });

  it("answers 401 token_expired to an expired token", async () => {
    const user = await registerUser("passenger");
    expectProblem(
      await attempt({ authorization: `Bearer ${await expiredToken(user)}` }),
      401,
      "token_expired",
    );
  });
});

const ROLES = ["passenger", "driver", "admin", "support"] as const;
const ROLE_LIMITED = RIDE_ROUTES.filter(([, , , roles]) => ROLES.some((role) => !roles.includes(role)));

describe.each(ROLE_LIMITED)("%s %s for the wrong role", (method, template, body, roles) => {
  const refused = ROLES.filter((role) => !roles.includes(role));

  it.each(refused)("answers 403 forbidden to a %s and changes nothing", async (role) => {
    const user =
      role === "passenger"
        ? await registerUser("passenger")
        : role === "driver"
          ? await onlineDriver()
          : await createStaff(role);
    const { ride } = await requestedRide();
    const before = await rideState(ride.id);
    const reply = await call(method, template.replace("{id}", ride.id), {
      token: user.accessToken,
      body,
      headers: { "idempotency-key": unique() },
    });
    expectProblem(reply, 403, "forbidden");
    expect(await rideState(ride.id)).toEqual(before);
    const own = await env.DB.prepare(
      "SELECT count(*) AS n FROM rides WHERE passenger_id = ? OR driver_id = ?",
    )
      .bind(user.id, user.id)
      .first();
    expect(own).toEqual({ n: 0 });
  });
});

describe("someone else's ride", { timeout: 20_000 }, () => {
  it("is 404 not_found to another passenger for GET, cancel and rating, and stays as it was", async () => {
    const { ride } = await rideWithDriver(["arrive", "start", "complete"]);
    const requested = await requestedRide();
    const stranger = await registerUser("passenger");

    for (const target of [ride.id, requested.ride.id]) {
      const before = await rideState(target);
      expectProblem(
        await call("GET", `/v1/rides/${target}`, { token: stranger.accessToken }),
        404,
        "not_found",
      );
      expectProblem(
        await postRide(stranger.accessToken, target, "cancel", { reason: "mine now" }),
        404,
        "not_found",
      );
      expectProblem(await postRide(stranger.accessToken, target, "rating", { stars: 1 }), 404, "not_found");
      expect(await rideState(target)).toEqual(before);
    }
    const ratings = await env.DB.prepare("SELECT count(*) AS n FROM ratings WHERE rater_id = ?")
      .bind(stranger.id)
      .first();
    expect(ratings).toEqual({ n: 0 });
  });

  it.each(["admin", "support"] as const)(
    "is 404 not_found to %s staff, who have no ride route here",
    async (role) => {
      const { ride } = await requestedRide();
      const staff = await createStaff(role);
      expectProblem(
        await call("GET", `/v1/rides/${ride.id}`, { token: staff.accessToken }),
        404,
        "not_found",
      );
    },
  );

  it("reads the same 404 as a ride that does not exist, so ride ids reveal nothing", async () => {
    const { ride } = await requestedRide();
    const stranger = await registerUser("passenger");
    const theirs = await call("GET", `/v1/rides/${ride.id}`, { token: stranger.accessToken });
    const missing = await call("GET", "/v1/rides/ride_01NOSUCHRIDE000000000000000", {
      token: stranger.accessToken,
    });
    expectProblem(theirs, 404, "not_found");
    expectProblem(missing, 404, "not_found");
    expect(theirs.json.detail).toBe(missing.json.detail);
  });

  // A ride taken by another driver is hidden from the rest (as GET /v1/rides/{id} documents): acting
  // on it answers the same 404 as reading it, not a 403 that would confirm it exists.
  describe.each([
    { stage: "accepted", steps: [] as ("arrive" | "start")[], step: "arrive" },
    { stage: "arrived", steps: ["arrive"] as ("arrive" | "start")[], step: "start" },
    { stage: "in_progress", steps: ["arrive", "start"] as ("arrive" | "start")[], step: "complete" },
  ])("an $stage ride assigned to another driver", ({ steps, step }) => {
    it(`cannot be read, moved on (${step}), cancelled or rated by another driver`, async () => {
      const { passenger, driver, ride } = await rideWithDriver(steps);
      const intruder = await onlineDriver();
      const before = await rideState(ride.id);

      expectProblem(
        await call("GET", `/v1/rides/${ride.id}`, { token: intruder.accessToken }),
        404,
        "not_found",
      );
      for (const attempt of ["arrive", "start", "complete"]) {
        expectProblem(await postRide(intruder.accessToken, ride.id, attempt), 404, "not_found");
      }
      expectProblem(
        await postRide(intruder.accessToken, ride.id, "cancel", { reason: "x" }),
        404,
        "not_found",
      );
      expectProblem(await postRide(intruder.accessToken, ride.id, "rating", { stars: 1 }), 404, "not_found");

      expect(await rideState(ride.id)).toEqual(before);
      expect(before.row).toMatchObject({ driver_id: driver.id, passenger_id: passenger.id });
      // …while the assigned driver can make exactly that step.
      const own =
        step === "complete"
          ? await completeAtDropoff(driver, ride.id, { distance_m: 2000, duration_s: 300 })
          : await postRide(driver.accessToken, ride.id, step);
      expect(own.status, own.text).toBe(200);
    });
  });

  it("a requested ride is on offer to every driver, but only its passenger may cancel it (403)", async () => {
    const { passenger, ride } = await requestedRide();
    const driver = await onlineDriver();
    const seen = await call("GET", `/v1/rides/${ride.id}`, { token: driver.accessToken });
    expect(seen.status, seen.text).toBe(200);
    // As an offer: without the passenger (test/integration/trip-integrity.test.ts has the details).
    expect(seen.json).toMatchObject({ id: ride.id, status: "requested" });
    expect(seen.json).not.toHaveProperty("passenger_id");
    expect(seen.text).not.toContain(passenger.id);

    const before = await rideState(ride.id);
    for (const step of ["arrive", "start", "complete"]) {
      expectProblem(await postRide(driver.accessToken, ride.id, step), 403, "forbidden");
    }
    expectProblem(await postRide(driver.accessToken, ride.id, "cancel", { reason: "no" }), 403, "forbidden");
    expect(await rideState(ride.id)).toEqual(before);
  });

  it("is not offered to drivers any more once accepted", async () => {
    const { ride } = await rideWithDriver();
    const other = await onlineDriver();
    expectProblem(await call("GET", `/v1/rides/${ride.id}`, { token: other.accessToken }), 404, "not_found");
  });
});

describe("GET /v1/rides lists only the caller's rides, newest first, by cursor", { timeout: 20_000 }, () => {
  it("shows a passenger their rides and a driver the rides they took", async () => {
    // Passenger A: r1 (taken by D, cancelled by A) then r2 (taken by D). Passenger B: r3 (taken by E).
    const a = await registerUser("passenger");
    const b = await registerUser("passenger");
    const d = await onlineDriver();
    const e = await onlineDriver();
    const idle = await onlineDriver();

    const request = async (passenger: TestUser) => {
      const reply = await call("POST", "/v1/rides", {
        token: passenger.accessToken,
        headers: { "idempotency-key": unique() },
        body: NEW_RIDE,
      });
      expect(reply.status, reply.text).toBe(201);
      return reply.json.id as string;
    };
    const r1 = await request(a);
    expect((await postRide(d.accessToken, r1, "accept")).status).toBe(200);
    expect((await postRide(a.accessToken, r1, "cancel", { reason: "changed plans" })).status).toBe(200);
    const r2 = await request(a);
    expect((await postRide(d.accessToken, r2, "accept")).status).toBe(200);
    const r3 = await request(b);
    expect((await postRide(e.accessToken, r3, "accept")).status).toBe(200);
    const r4 = await request(await registerUser("passenger")); // on offer, taken by nobody

    const list = async (user: TestUser, query = "") => {
      const reply = await call("GET", `/v1/rides${query}`, { token: user.accessToken });
      expect(reply.status, reply.text).toBe(200);
      return reply.json as {
        items: { id: string; passenger_id: string; driver_id: string | null }[];
        next_cursor: string | null;
      };
    };
    const ids = (page: { items: { id: string }[] }) => page.items.map((r) => r.id);

    expect(ids(await list(a))).toEqual([r2, r1]);
    expect(ids(await list(b))).toEqual([r3]);
    expect(ids(await list(d))).toEqual([r2, r1]);
    expect(ids(await list(e))).toEqual([r3]);
    // A driver's list is what they took, not what is on offer (r4 is visible by id, not listed).
    expect(await list(idle)).toEqual({ items: [], next_cursor: null });
    expect(ids(await list(a))).not.toContain(r4);
    expect((await list(a)).items.every((r) => r.passenger_id === a.id)).toBe(true);
    expect((await list(d)).items.every((r) => r.driver_id === d.id)).toBe(true);

    const first = await list(a, "?limit=1");
    expect(ids(first)).toEqual([r2]);
    expect(first.next_cursor).toBe(r2);
    const second = await list(a, `?limit=1&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([r1]);
    expect(second.next_cursor).toBeNull();

    const driverFirst = await list(d, "?limit=1");
    expect(ids(driverFirst)).toEqual([r2]);
    expect(ids(await list(d, `?limit=1&cursor=${driverFirst.next_cursor}`))).toEqual([r1]);
    // Another passenger's cursor does not reach into A's rides.
    expect(await list(b, `?cursor=${r2}`)).toEqual({ items: [], next_cursor: null });
  });

  it.each(["?limit=0", "?limit=101", "?limit=abc"])(
    "refuses %s with 400 validation_failed",
    async (query) => {
      const passenger = await registerUser("passenger");
      expectProblem(
        await call("GET", `/v1/rides${query}`, { token: passenger.accessToken }),
        400,
        "validation_failed",
      );
    },
  );
});
