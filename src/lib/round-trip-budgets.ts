/**
 * How many D1 round trips each hot path may wait on, one after another. From São Paulo each costs
 * ~120 ms (`SAO_PAULO_D1_RTT_MS`): D1's primary cannot be in South America, Durable Objects can.
 * Asserted through the HTTP API by `test/integration/round-trip-budgets.test.ts` and printed by
 * `npm run bench`; the same table is in the architecture notes ("Round-trip budgets").
 *
 * `sequential` bounds the waves (round trips that wait on the one before); `total`, when given,
 * bounds every round trip (a batch is one). Authentication is included: on the hot paths it must
 * make none (sessions are checked without D1).
 */
export interface RoundTripBudget {
  key: string;
  /** What is measured, as a client sees it. */
  path: string;
  sequential: number;
  total?: number;
}

export const SAO_PAULO_D1_RTT_MS = 120;

export const ROUND_TRIP_BUDGETS = [
  { key: "location_ping", path: "POST /v1/drivers/me/location", sequential: 0, total: 0 },
  { key: "socket_frame", path: "a location frame on GET /v1/rides/{id}/ws", sequential: 0, total: 0 },
  { key: "accept_loser", path: "POST /v1/rides/{id}/accept, ride already taken", sequential: 0, total: 0 },
  { key: "accept_winner", path: "POST /v1/rides/{id}/accept, the winner", sequential: 1, total: 1 },
  { key: "arrive", path: "POST /v1/rides/{id}/arrive", sequential: 1 },
  { key: "start", path: "POST /v1/rides/{id}/start", sequential: 1 },
  { key: "ride_request", path: "POST /v1/rides", sequential: 2 },
  { key: "quote", path: "POST /v1/rides/quote", sequential: 1 },
  { key: "wallet", path: "GET /v1/wallet", sequential: 1 },
  { key: "ride_get", path: "GET /v1/rides/{id}", sequential: 1 },
] as const satisfies readonly RoundTripBudget[];

export type RoundTripBudgetKey = (typeof ROUND_TRIP_BUDGETS)[number]["key"];

export function budgetOf(key: RoundTripBudgetKey): RoundTripBudget {
  const budget = ROUND_TRIP_BUDGETS.find((b) => b.key === key);
  if (!budget) throw new Error(`no round-trip budget ${key}`);
  return budget;
}
