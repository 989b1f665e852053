// The accept race: one new ride, every seeded driver accepting it at the same moment. Not a load
// loop: one simultaneous burst per round (all requests started before any is awaited). Expected:
// exactly one 200, the rest 409, nothing else (above all no 5xx).

import { call, cancelRide, pool, requestRide, SE } from "./api.mjs";
import { roundTripSamples } from "./round-trips.mjs";
import { percentile } from "./stats.mjs";

export async function acceptRace(url, { drivers, passengers, rounds, log = console.log }) {
  const results = [];
  for (let round = 1; round <= rounds; round++) {
    const passenger = passengers[(round - 1) % passengers.length];
    // Accepting needs a fresh position near the pickup: each driver app reports where it is first.
    await pool(drivers, 20, (driver) =>
      call(url, "POST", "/v1/drivers/me/location", { token: driver.token, body: SE }),
    );
    // The same burst on the bare endpoint, just before: what as many requests at once cost this
    // server before the accepts do anything of their own (reported beside the issue's ratio).
    const bare = await Promise.all(
      drivers.map(() =>
        call(url, "GET", "/health").then(
          (reply) => reply.ms,
          () => null,
        ),
      ),
    );
    const ride = await requestRide(url, passenger);
    const started = performance.now();
    const replies = await Promise.all(
      drivers.map((driver) =>
        call(url, "POST", `/v1/rides/${ride.id}/accept`, { token: driver.token }).then(
          (reply) => ({ driver, ...reply }),
          (error) => ({
            driver,
            status: 0,
            text: `${error.name}: ${error.cause?.code ?? error.message}`,
            ms: 0,
          }),
        ),
      ),
    );
    const burstMs = performance.now() - started;

    const ok = replies.filter((r) => r.status === 200);
    const conflicts = replies.filter((r) => r.status === 409);
    const other = replies.filter((r) => r.status !== 200 && r.status !== 409);
    const codes = {};
    for (const r of replies) {
      const key = `${r.status} ${r.json?.code ?? (r.status === 200 ? "ok" : "-")}`;
      codes[key] = (codes[key] ?? 0) + 1;
    }

    // The ride as stored must name the one winner.
    const stored = await call(url, "GET", `/v1/rides/${ride.id}`, { token: passenger.token });
    const winner = ok.length === 1 ? ok[0].driver.id : null;
    const storedDriver = stored.json?.driver_id ?? null;
    const consistent = ok.length === 1 ? storedDriver === winner && stored.json?.status === "accepted" : true;
    const pass = ok.length === 1 && other.length === 0 && consistent;

    const losers = roundTripSamples();
    for (const r of conflicts) losers.add(r.roundTrips);
    const result = {
      round,
      d1_round_trips: { winner: ok.length === 1 ? ok[0].roundTrips : null, losers: losers.summary() },
      ride_id: ride.id,
      drivers: drivers.length,
      ok: ok.length,
      conflict: conflicts.length,
      other: other.length,
      codes,
      burst_ms: burstMs,
      reply_ms: {
        p50: percentile(
          replies.map((r) => r.ms),
          50,
        ),
        p99: percentile(
          replies.map((r) => r.ms),
          99,
        ),
        max: Math.max(...replies.map((r) => r.ms)),
      },
      // percentile() skips the requests that failed (null); they are counted apart.
      health_burst_ms: {
        p50: percentile(bare, 50),
        p99: percentile(bare, 99),
        failed: bare.filter((ms) => ms === null).length,
      },
      stored_status: stored.json?.status ?? `GET ${stored.status}`,
      stored_driver_matches_winner: ok.length === 1 ? storedDriver === winner : null,
      other_samples: other.slice(0, 5).map((r) => ({ status: r.status, body: String(r.text).slice(0, 500) })),
      pass,
    };
    results.push(result);
    log(
      `[race] round ${round}: ${pass ? "PASS" : "FAIL"} — 200: ${ok.length}, 409: ${conflicts.length}, other: ${other.length}` +
        ` (${Object.entries(codes)
          .map(([k, v]) => `${k} ×${v}`)
          .join(", ")}); burst ${burstMs.toFixed(0)} ms` +
        (ok.length === 1 && !consistent
          ? `; stored ride says ${stored.json?.status} by ${storedDriver}`
          : ""),
    );

    // Free the winner for the next round: the passenger cancels (within the grace period, no fee).
    if (stored.json?.status && !["cancelled", "completed", "expired"].includes(stored.json.status)) {
      await cancelRide(url, passenger, ride.id);
    }
  }
  return results;
}
