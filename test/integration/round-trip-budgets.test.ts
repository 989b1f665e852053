import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/lib/config";
import { ROUND_TRIP_STATS_PATH, withRoundTripHeader } from "../../src/lib/d1-round-trip-header";
import { formatRoundTrips, ROUND_TRIP_HEADER, type RoundTripFigures } from "../../src/lib/d1-round-trips";
import { budgetOf, type RoundTripBudgetKey, SAO_PAULO_D1_RTT_MS } from "../../src/lib/round-trip-budgets";
import { BASE, call, expectProblem, readReply, registerUser } from "../helpers";
import {
  bearer,
  onlineDriver,
  openSocket,
  PAULISTA,
  postRide,
  requestedRide,
  requestRide,
  rideWithDriver,
  SE,
} from "../ride-helpers";
import { measure } from "../security/d1-round-trips";

// Every hot path within its D1 round-trip budget (src/lib/round-trip-budgets.ts), measured through
// the HTTP API and a real WebSocket as a client waits on it. The figures are printed at the end
// (the config silences passing tests' output: `npx vitest run <this file> --silent=false`).

const measured: Record<string, RoundTripFigures & { status: number; trace: string[] }> = {};

afterAll(() => {
  const lines = Object.entries(measured).map(([key, f]) => {
    const budget = budgetOf(key as RoundTripBudgetKey);
    const limit = `budget ≤ ${budget.sequential} sequential${budget.total === undefined ? "" : `, ≤ ${budget.total} in all`}`;
    const line = `  ${budget.path.padEnd(52)} ${f.status}  ${formatRoundTrips(f)}  (${limit}; ~${f.sequential * SAO_PAULO_D1_RTT_MS} ms of D1 from São Paulo)`;
    return [line, ...f.trace.map((t) => `      ${t}`)].join("\n");
  });
  console.log(`D1 round trips per request:\n${lines.join("\n")}`);
});

function expectWithin(
  key: RoundTripBudgetKey,
  status: number,
  { roundTrips: figures, trace }: { roundTrips: RoundTripFigures; trace: string[] },
) {
  measured[key] = { ...figures, status, trace };
  const budget = budgetOf(key);
  // Soft: a test measuring two paths reports both before it fails.
  expect
    .soft(figures.sequential, `${budget.path}: ${formatRoundTrips(figures)}`)
    .toBeLessThanOrEqual(budget.sequential);
  if (budget.total !== undefined) {
    expect
      .soft(figures.total, `${budget.path}: ${formatRoundTrips(figures)}`)
      .toBeLessThanOrEqual(budget.total);
  }
}

describe("the round-trip counter", () => {
  it("counts a batch as one round trip, concurrent calls as one wave, awaited ones as the next", async () => {
    const { roundTrips } = await measure(async () => {
      await env.DB.batch([
        env.DB.prepare("SELECT 1"),
        env.DB.prepare("SELECT 2"),
        env.DB.prepare("SELECT 3"),
      ]);
      await Promise.all([env.DB.prepare("SELECT 4").first(), env.DB.prepare("SELECT 5").all()]);
      await env.DB.prepare("SELECT 6").raw();
    });
    expect(roundTrips).toEqual({ total: 4, sequential: 3, statements: 6 });
  });
});

describe("D1 round-trip budgets of the hot paths", () => {
  it("a location ping makes no round trip", async () => {
    const driver = await onlineDriver();
    const { reply, ...counted } = await measure(() =>
      call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: { ...SE, heading: 90 } }),
    );
    expect(reply.status, reply.text).toBe(202);
    expectWithin("location_ping", reply.status, counted);
  });

  it("a ping with a forged token is refused without touching D1", async () => {
    const driver = await onlineDriver();
    const [header, payload] = driver.accessToken.split(".");
    const forged = `${header}.${payload}.${"A".repeat(43)}`;
    const { reply, roundTrips } = await measure(() =>
      call("POST", "/v1/drivers/me/location", { token: forged, body: SE }),
    );
    expectProblem(reply, 401, "invalid_token");
    expect(roundTrips.total).toBe(0);
  });

  it("a location frame on the ride socket makes no round trip", async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const passengerSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(passenger.accessToken));
    const driverSocket = await openSocket(`/v1/rides/${ride.id}/ws`, bearer(driver.accessToken));
    const { reply, ...counted } = await measure(async () => {
      driverSocket.socket.send(JSON.stringify({ action: "location", lat: -23.5505, lng: -46.6341 }));
      return passengerSocket.next((m) => m.type === "driver.location" && m.data.lng === -46.6341);
    });
    expect(reply).toMatchObject({ ride_id: ride.id, data: { lat: -23.5505, lng: -46.6341 } });
    expectWithin("socket_frame", 101, counted);
    passengerSocket.socket.close(1000);
    driverSocket.socket.close(1000);
  });

  it("the accept race: the winner writes one batch, a loser makes no round trip", async () => {
    const { ride } = await requestedRide();
    const [winner, loser] = [await onlineDriver(), await onlineDriver()];
    const won = await measure(() => postRide(winner.accessToken, ride.id, "accept"));
    expect(won.reply.status, won.reply.text).toBe(200);
    expect(won.reply.json).toMatchObject({ status: "accepted", driver_id: winner.id });
    const lost = await measure(() => postRide(loser.accessToken, ride.id, "accept"));
    expectProblem(lost.reply, 409, "ride_already_accepted");
    expectWithin("accept_winner", won.reply.status, won);
    expectWithin("accept_loser", lost.reply.status, lost);
  });

  it("arrive and start take at most one round trip each", async () => {
    const { driver, ride } = await rideWithDriver();
    const arrived = await measure(() => postRide(driver.accessToken, ride.id, "arrive"));
    expect(arrived.reply.status, arrived.reply.text).toBe(200);
    const started = await measure(() => postRide(driver.accessToken, ride.id, "start"));
    expect(started.reply.status, started.reply.text).toBe(200);
    expectWithin("arrive", arrived.reply.status, arrived);
    expectWithin("start", started.reply.status, started);
  });

  it("a ride request waits on at most two round trips", async () => {
    await onlineDriver();
    const passenger = await registerUser("passenger");
    const { reply, ...counted } = await measure(() => requestRide(passenger));
    expect(reply.status, reply.text).toBe(201);
    expectWithin("ride_request", reply.status, counted);
  });

  it("a quote takes at most one round trip", async () => {
    const passenger = await registerUser("passenger");
    const { reply, ...counted } = await measure(() =>
      call("POST", "/v1/rides/quote", {
        token: passenger.accessToken,
        body: { pickup: SE, dropoff: PAULISTA, category: "pop" },
      }),
    );
    expect(reply.status, reply.text).toBe(200);
    expectWithin("quote", reply.status, counted);
  });

  it("the wallet takes at most one round trip", async () => {
    const driver = await onlineDriver();
    const { reply, ...counted } = await measure(() =>
      call("GET", "/v1/wallet", { token: driver.accessToken }),
    );
    expect(reply.status, reply.text).toBe(200);
    expectWithin("wallet", reply.status, counted);
  });

  it("reading a ride takes at most one round trip", async () => {
    const { passenger, ride } = await rideWithDriver();
    const { reply, ...counted } = await measure(() =>
      call("GET", `/v1/rides/${ride.id}`, { token: passenger.accessToken }),
    );
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ id: ride.id, status: "accepted" });
    expectWithin("ride_get", reply.status, counted);
  });
});

describe("the development round-trip header", () => {
  const app = createApp();
  const counted = withRoundTripHeader(app.fetch);
  const send = async (request: Request, vars: Record<string, string>) => {
    const ctx = createExecutionContext();
    const response = await counted(request, { ...env, ...vars } as Env, ctx);
    const reply = await readReply(response);
    await waitOnExecutionContext(ctx);
    return reply;
  };
  const on = { D1_ROUND_TRIP_HEADER: "true" };

  it("carries what the isolate-wide counter counts, the ride room's writes included", async () => {
    await onlineDriver();
    const passenger = await registerUser("passenger");
    const body = JSON.stringify({ pickup: SE, dropoff: PAULISTA, category: "pop", payment_method: "pix" });
    const request = new Request(`${BASE}/v1/rides`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${passenger.accessToken}`,
        "content-type": "application/json",
        "idempotency-key": crypto.randomUUID(),
      },
      body,
    });
    const { reply, roundTrips } = await measure(() => send(request, on));
    expect(reply.status, reply.text).toBe(201);
    expect(roundTrips.total).toBeGreaterThan(0);
    // The isolate-wide counter sees the room's own writes too: the header carried them back.
    expect(reply.headers.get(ROUND_TRIP_HEADER)).toBe(formatRoundTrips(roundTrips));
  });

  it("is absent unless asked for, and never in production", async () => {
    const driver = await onlineDriver();
    const ping = () =>
      new Request(`${BASE}/v1/drivers/me/location`, {
        method: "POST",
        headers: { authorization: `Bearer ${driver.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify(SE),
      });
    const off = await send(ping(), {});
    expect(off.status, off.text).toBe(202);
    expect(off.headers.get(ROUND_TRIP_HEADER)).toBeNull();
    expect((await send(new Request(`${BASE}${ROUND_TRIP_STATS_PATH}`), {})).status).toBe(404);

    const production = { ...on, APP_ENV: "production" };
    const stats = await send(new Request(`${BASE}${ROUND_TRIP_STATS_PATH}`), production);
    expect(stats.status).not.toBe(200);
    expect(stats.headers.get(ROUND_TRIP_HEADER)).toBeNull();
    expect(stats.json?.statements).toBeUndefined();
  });

  it("is left off a request that asks not to be counted, which the isolate's totals still count", async () => {
    const passenger = await registerUser("passenger");
    // GET /v1/me reads the account from D1.
    const request = (headers: Record<string, string>) =>
      new Request(`${BASE}/v1/me`, {
        headers: { authorization: `Bearer ${passenger.accessToken}`, ...headers },
      });
    const stats = async () => (await send(new Request(`${BASE}${ROUND_TRIP_STATS_PATH}`), on)).json;
    const before = await stats();
    const skipped = await send(request({ [ROUND_TRIP_HEADER]: "skip" }), on);
    expect(skipped.status, skipped.text).toBe(200);
    expect(skipped.headers.get(ROUND_TRIP_HEADER)).toBeNull();
    expect((await stats()).total).toBeGreaterThan(before.total);

    const counted = await send(request({}), on);
    expect(counted.status, counted.text).toBe(200);
    expect(counted.headers.get(ROUND_TRIP_HEADER)).toMatch(/^total=\d+, sequential=\d+, statements=\d+$/);
  });

  it("is refused by a deployed configuration", () => {
    const deployed = (extra: Record<string, string>) => ({ ...env, APP_ENV: "production", ...extra });
    expect(() => loadConfig(deployed(on))).toThrow(/D1_ROUND_TRIP_HEADER: development only/);
    expect(() => loadConfig(deployed({}))).not.toThrow(/D1_ROUND_TRIP_HEADER/);
  });

  it("serves the isolate's totals in development, growing with each round trip", async () => {
    const before = await send(new Request(`${BASE}${ROUND_TRIP_STATS_PATH}`), on);
    expect(before.status).toBe(200);
    const driver = await onlineDriver();
    await call("GET", "/v1/wallet", { token: driver.accessToken });
    const after = await send(new Request(`${BASE}${ROUND_TRIP_STATS_PATH}`), on);
    expect(after.json.total).toBeGreaterThan(before.json.total);
    expect(after.json.statements).toBeGreaterThanOrEqual(after.json.total);
  });
});
