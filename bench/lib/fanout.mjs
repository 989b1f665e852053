// Fan-out: N sockets on one ride (all the passenger's; a user may hold many), then one transition
// by the driver. Per socket: the time from sending the HTTP request that causes the event to that
// socket receiving it. Uses Node 22's global WebSocket client.

import { call, expectCall, PAULISTA, pool, requestRide, SE } from "./api.mjs";
import { arrivalOf, EVENT_TIMEOUT_MS, openSocket } from "./sockets.mjs";
import { percentile } from "./stats.mjs";

/** Sends `step` as the driver and measures when each socket sees `eventType`. */
async function measure(url, entries, { driver, rideId, step, eventType }) {
  const live = entries.filter((e) => e.opened && !e.closed);
  const arrivals = live.map((e) => arrivalOf(e, eventType, EVENT_TIMEOUT_MS));
  const sent = performance.now();
  const reply = await call(url, "POST", `/v1/rides/${rideId}/${step}`, { token: driver.token });
  const times = (await Promise.all(arrivals)).map((at) => (at === null ? null : at - sent));
  const got = times.filter((t) => t !== null);
  return {
    event: eventType,
    trigger: `POST /v1/rides/{id}/${step}`,
    trigger_status: reply.status,
    trigger_body: reply.status === 200 ? undefined : reply.text.slice(0, 500),
    trigger_reply_ms: reply.ms,
    trigger_round_trips: reply.roundTrips,
    sockets: live.length,
    received: got.length,
    first_ms: got.length ? Math.min(...got) : null,
    p50_ms: percentile(got, 50),
    p99_ms: percentile(got, 99),
    max_ms: got.length ? Math.max(...got) : null,
    // All sockets: the moment the last one had it (null if any never did).
    all_received_ms: got.length === live.length && got.length > 0 ? Math.max(...got) : null,
  };
}

export async function fanout(url, { passenger, driver, sockets, log = console.log }) {
  const ride = await requestRide(url, passenger);
  // Accept needs a fresh position near the pickup.
  await expectCall(url, 202, "POST", "/v1/drivers/me/location", { token: driver.token, body: SE });
  await expectCall(url, 200, "POST", `/v1/rides/${ride.id}/accept`, { token: driver.token });

  const wsUrl = `${url.replace(/^http/, "ws")}/v1/rides/${ride.id}/ws`;
  const openStarted = performance.now();
  const entries = await pool(Array.from({ length: sockets }), 25, () => openSocket(wsUrl, passenger.token));
  const openMs = performance.now() - openStarted;
  // Every socket gets the ride's log on connect; seeing ride.accepted means it is attached.
  await Promise.all(entries.filter((e) => e.opened).map((e) => arrivalOf(e, "ride.accepted", 5_000)));
  const opened = entries.filter((e) => e.opened && !e.closed).length;
  const refused = entries.filter((e) => !e.opened || e.closed);
  log(`[fanout] ${opened}/${sockets} sockets open on ${ride.id} in ${openMs.toFixed(0)} ms`);

  const results = [];
  try {
    for (const [step, eventType] of [
      ["arrive", "ride.arrived"],
      ["start", "ride.started"],
    ]) {
      const result = await measure(url, entries, { driver, rideId: ride.id, step, eventType });
      results.push(result);
      log(
        `[fanout] ${eventType}: ${result.received}/${result.sockets} sockets, p50 ${fmt(result.p50_ms)} ms, ` +
          `p99 ${fmt(result.p99_ms)} ms, last ${fmt(result.max_ms)} ms (trigger ${result.trigger_status} in ${fmt(result.trigger_reply_ms)} ms)`,
      );
    }
  } finally {
    for (const e of entries) {
      try {
        e.socket.close(1000, "bench done");
      } catch {
        // already closed
      }
    }
  }
  // Leave nothing active behind: the driver, at the dropoff (complete is refused far from it),
  // completes the trip.
  await call(url, "POST", "/v1/drivers/me/location", { token: driver.token, body: PAULISTA });
  const completed = await call(url, "POST", `/v1/rides/${ride.id}/complete`, {
    token: driver.token,
    body: {},
  });

  return {
    ride_id: ride.id,
    sockets_requested: sockets,
    sockets_open: opened,
    open_ms: openMs,
    refused: refused.slice(0, 5).map((e) => ({ error: e.error, closed: e.closed })),
    refused_count: refused.length,
    events: results,
    complete: { status: completed.status, round_trips: completed.roundTrips },
  };
}

const fmt = (v) => (v === null || v === undefined ? "-" : v.toFixed(1));
