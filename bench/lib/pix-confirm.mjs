// Pix confirmation latency: from the moment a passenger pays a ride's charge at Efí to the moment
// `payment.confirmed` reaches the passenger's socket (`GET /v1/ws`). One ride at a time: a
// passenger requests it, a seeded driver accepts, arrives, starts and completes it at the dropoff
// (completion creates the Pix charge), the passenger opens his socket, then the bench pays the
// charge through the sandbox's control route, which sends the webhook to the API as Efí would.
// What the time is made of: the webhook's delivery and intake, the payments queue handing the
// item to its consumer, the consumer's read-back of the charge at Efí, the ledger posting and the
// event's fan-out.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call, expectCall, PAULISTA, register, requestRide, SE } from "./api.mjs";
import { PIX_CONFIRM_P99_TARGET_MS } from "./budgets.mjs";
import { efiSandbox, SANDBOX_URL } from "./efi-sandbox.mjs";
import { arrivalOf, openSocket } from "./sockets.mjs";
import { percentile } from "./stats.mjs";

const CONFIRM_TIMEOUT_MS = 15_000;

/** A completed Pix ride of a fresh passenger, driven by `driver` → { passenger, rideId, txid }. */
async function completedPixRide(url, driver) {
  const passenger = await register(url, "passenger");
  const ride = await requestRide(url, passenger);
  // Accept needs a fresh position near the pickup; complete needs one near the dropoff.
  await expectCall(url, 202, "POST", "/v1/drivers/me/location", { token: driver.token, body: SE });
  for (const step of ["accept", "arrive", "start"]) {
    await expectCall(url, 200, "POST", `/v1/rides/${ride.id}/${step}`, { token: driver.token });
  }
  await expectCall(url, 202, "POST", "/v1/drivers/me/location", { token: driver.token, body: PAULISTA });
  await expectCall(url, 200, "POST", `/v1/rides/${ride.id}/complete`, { token: driver.token, body: {} });
  // Completion creates the charge inline; reading the payment creates it if that failed.
  for (let attempt = 0; attempt < 5; attempt++) {
    const payment = await expectCall(url, 200, "GET", `/v1/rides/${ride.id}/payment`, {
      token: passenger.token,
    });
    const txid = payment.json?.pix?.txid;
    if (txid) return { passenger, rideId: ride.id, txid, amountCents: payment.json.amount_cents };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`ride ${ride.id}: no Pix charge after completion (is the Efí sandbox reachable?)`);
}

/** One round: the socket is open before the charge is paid; the clock starts at the pay call. */
async function round(url, driver) {
  const { passenger, rideId, txid, amountCents } = await completedPixRide(url, driver);
  const socket = await openSocket(`${url.replace(/^http/, "ws")}/v1/ws`, passenger.token);
  if (!socket.opened || socket.closed) {
    return {
      ride_id: rideId,
      confirmed_ms: null,
      error: `socket: ${socket.error ?? JSON.stringify(socket.closed)}`,
    };
  }
  try {
    const isConfirmed = (m) =>
      m?.type === "payment.confirmed" && (m.data?.ride_id === rideId || m.ride_id === rideId);
    const arrival = arrivalOf(socket, isConfirmed, CONFIRM_TIMEOUT_MS);
    const sent = performance.now();
    const paid = await call(SANDBOX_URL, "POST", `/sandbox/charges/${txid}/pay`, { body: {} });
    const payMs = performance.now() - sent;
    if (paid.status !== 200) {
      return { ride_id: rideId, confirmed_ms: null, error: `pay: ${paid.status} ${paid.text.slice(0, 300)}` };
    }
    const at = await arrival;
    return {
      ride_id: rideId,
      amount_cents: amountCents,
      pay_call_ms: payMs,
      confirmed_ms: at === null ? null : at - sent,
      error: at === null ? `no payment.confirmed within ${CONFIRM_TIMEOUT_MS} ms` : null,
    };
  } finally {
    try {
      socket.socket.close(1000, "bench done");
    } catch {
      // already closed
    }
  }
}

export async function pixConfirm(url, { drivers, rides, log = console.log }) {
  const rounds = [];
  for (let i = 0; i < rides; i++) {
    // The last seeded drivers: the other scenarios use the first ones.
    const driver = drivers[drivers.length - 1 - (i % Math.min(5, drivers.length))];
    try {
      rounds.push(await round(url, driver));
    } catch (error) {
      rounds.push({ ride_id: null, confirmed_ms: null, error: error.message.slice(0, 400) });
    }
  }
  const times = rounds.map((r) => r.confirmed_ms).filter((v) => v !== null);
  const ms = {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    max: times.length ? Math.max(...times) : null,
  };
  const result = {
    rides,
    confirmed: times.length,
    confirmed_ms: ms,
    pay_call_ms_p50: percentile(
      rounds.map((r) => r.pay_call_ms),
      50,
    ),
    target_p99_ms: PIX_CONFIRM_P99_TARGET_MS,
    pass: times.length === rides && ms.p99 !== null && ms.p99 <= PIX_CONFIRM_P99_TARGET_MS,
    failures: rounds.filter((r) => r.confirmed_ms === null).slice(0, 5),
    rounds,
  };
  log(
    `[pix] ${result.confirmed}/${rides} payments confirmed on the passenger's socket; ms from the pay call: ` +
      `p50 ${ms.p50?.toFixed(0)}, p95 ${ms.p95?.toFixed(0)}, p99 ${ms.p99?.toFixed(0)} ` +
      `(target p99 ≤ ${PIX_CONFIRM_P99_TARGET_MS}: ${result.pass ? "PASS" : "FAIL"})`,
  );
  return result;
}

/** The scenario with its sandbox: started (or found on 8788) before, stopped after. */
export async function pixConfirmScenario(url, server, { drivers, rides, log = console.log }) {
  const workDir = server.workDir ?? mkdtempSync(join(tmpdir(), "mobility-bench-efi-"));
  const sandbox = await efiSandbox({ apiUrl: url, workDir, log });
  try {
    return { ...(await pixConfirm(url, { drivers, rides, log })), sandbox_started: sandbox.started };
  } finally {
    await sandbox.stop();
    if (!server.workDir) rmSync(workDir, { recursive: true, force: true });
  }
}
