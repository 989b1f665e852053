// Offer latency: the seeded drivers hold their user sockets (`GET /v1/ws`) open, as a driver app in
// the foreground does; a passenger requests a ride and we time, from sending that request, the
// moment the first driver's socket receives `ride.offered` for it. Then the passenger cancels,
// which withdraws the ride's offers and frees its drivers for the next round. `beforeEach`, when
// given, runs before each ride is requested (bench:profile's --settle-each waits there for the
// server to go idle, to tell the request's own latency from the work earlier rides left).

import { call, cancelRide, pool, RIDE_BODY, unique } from "./api.mjs";
import { arrivalsOf, EVENT_TIMEOUT_MS, openSocket } from "./sockets.mjs";
import { percentile } from "./stats.mjs";

export async function offerLatency(url, { drivers, passengers, log = console.log, beforeEach }) {
  const wsUrl = `${url.replace(/^http/, "ws")}/v1/ws`;
  const entries = await pool(drivers, 25, (driver) => openSocket(wsUrl, driver.token));
  const open = entries.filter((e) => e.opened && !e.closed);
  log(`[offers] ${open.length}/${drivers.length} driver sockets open on /v1/ws`);

  const rounds = [];
  try {
    for (const passenger of passengers) {
      await beforeEach?.();
      const sent = performance.now();
      const reply = await call(url, "POST", "/v1/rides", {
        token: passenger.token,
        headers: { "idempotency-key": unique("offer-") },
        body: RIDE_BODY,
      });
      if (reply.status !== 201) {
        rounds.push({ status: reply.status, body: reply.text.slice(0, 300), first_ms: null, offered: 0 });
        continue;
      }
      const rideId = reply.json.id;
      const isOffer = (m) => m?.type === "ride.offered" && (m.ride_id === rideId || m.data?.id === rideId);
      // One step's offers go out together: the rest arrive within the grace after the first.
      const arrivals = await arrivalsOf(open, isOffer, { timeoutMs: EVENT_TIMEOUT_MS / 3, graceMs: 500 });
      const got = arrivals.filter((at) => at !== null).map((at) => at - sent);
      rounds.push({
        status: reply.status,
        reply_ms: reply.ms,
        round_trips: reply.roundTrips,
        first_ms: got.length ? Math.min(...got) : null,
        offered: got.length,
      });
      await cancelRide(url, passenger, rideId);
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
  const firsts = rounds.map((r) => r.first_ms).filter((v) => v !== null);
  const replies = rounds.map((r) => r.reply_ms).filter((v) => v !== undefined);
  const result = {
    rounds: rounds.length,
    sockets_open: open.length,
    answered: firsts.length,
    first_offer_ms: { p50: percentile(firsts, 50), p99: percentile(firsts, 99), max: Math.max(...firsts) },
    // In the order the rides were requested: whether the slow ones are the first (cold objects)
    // or spread out (work of earlier rides still running).
    first_offer_samples_ms: rounds.map((r) =>
      r.first_ms === null ? null : Math.round(r.first_ms * 10) / 10,
    ),
    // The ride request's own reply: the first offer can come no sooner.
    request_reply_ms: { p50: percentile(replies, 50), p99: percentile(replies, 99) },
    drivers_offered_per_ride: percentile(
      rounds.map((r) => r.offered),
      50,
    ),
    failures: rounds.filter((r) => r.first_ms === null).slice(0, 5),
  };
  log(
    `[offers] ${result.answered}/${result.rounds} rides offered; first offer p50 ${result.first_offer_ms.p50?.toFixed(1)} ms, ` +
      `p99 ${result.first_offer_ms.p99?.toFixed(1)} ms (the request's reply p50 ${result.request_reply_ms.p50?.toFixed(1)} ms); ` +
      `${result.drivers_offered_per_ride} drivers offered per ride (median); slowest ` +
      [...firsts]
        .sort((a, b) => b - a)
        .slice(0, 5)
        .map((ms) => ms.toFixed(1))
        .join(", ") +
      " ms",
  );
  return result;
}
