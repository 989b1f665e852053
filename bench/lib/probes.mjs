// Round-trip probes: the budgeted routes that no load scenario drives (quote, wallet, reading a
// ride), a few requests each, one at a time, for their D1 round trips and their latency.

import { call, PAULISTA, SE } from "./api.mjs";
import { roundTripSamples } from "./round-trips.mjs";
import { percentile } from "./stats.mjs";

const PROBES_PER_ROUTE = 10;

async function probe(key, send) {
  const samples = roundTripSamples();
  const ms = [];
  const statuses = {};
  for (let i = 0; i < PROBES_PER_ROUTE; i++) {
    const reply = await send();
    samples.add(reply.roundTrips);
    ms.push(reply.ms);
    statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
  }
  return { key, status_codes: statuses, p50_ms: percentile(ms, 50), d1_round_trips: samples.summary() };
}

/** `passenger` holds `rideId`; `driver` is any online driver. */
export async function probeRoutes(url, { passenger, driver, rideId }) {
  return [
    await probe("quote", () =>
      call(url, "POST", "/v1/rides/quote", {
        token: passenger.token,
        body: { pickup: SE, dropoff: PAULISTA, category: "pop" },
      }),
    ),
    await probe("wallet", () => call(url, "GET", "/v1/wallet", { token: driver.token })),
    await probe("ride_get", () => call(url, "GET", `/v1/rides/${rideId}`, { token: passenger.token })),
  ];
}
