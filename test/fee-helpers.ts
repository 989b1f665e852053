import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { sandboxControl } from "./efi-network";
import { call, registerUser, type TestUser, unique } from "./helpers";
import { completeAtDropoff, postRide } from "./ride-helpers";

// Helpers for the money paths of whole trips and cancellations, driven through the HTTP API:
// card passengers, a driver's prepaid credit, Pix charges paid at the Efí sandbox, and a ride
// whose driver accepted long enough ago that the passenger's cancellation costs the fee.

/** wrangler.toml CANCELLATION_GRACE_SECONDS. */
export const GRACE_SECONDS = 120;
/** The seeded pop rule's cancellation fee; pop's commission is 20 %, at least R$ 1,00. */
export const POP_FEE_CENTS = 500;
export const POP_FEE_COMMISSION_CENTS = 100;
export const POP_FEE_SHARE_CENTS = POP_FEE_CENTS - POP_FEE_COMMISSION_CENTS;

/** Pop's commission on a fare: round_half_up(20 %), at least 100 centavos, never above the fare. */
export function popCommission(fareCents: number): number {
  return Math.min(fareCents, Math.max(Math.floor((fareCents * 20 + 50) / 100), 100));
}

const WAIT = { timeout: 20_000, interval: 100 };

/** A valid CPF (check digits computed), random enough to be unique per test passenger. */
export function randomCpf(): string {
  const digits = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
  if (digits.every((d) => d === digits[0])) digits[0] = ((digits[0] ?? 0) + 1) % 10;
  for (const length of [9, 10]) {
    const sum = digits.slice(0, length).reduce((acc, d, i) => acc + d * (length + 1 - i), 0);
    const rest = (sum * 10) % 11;
    digits.push(rest === 10 ? 0 : rest);
  }
  return digits.join("");
}

/** Device-SDK-like tokens: the Efí sandbox refuses a charge whose token ends in 1, 2 or 3. */
export const approvingToken = () => `tok${unique()}x0`;
export const refusingToken = () => `tok${unique()}x2`;

/** A passenger with a CPF (Efí's card API needs one) and a card on file. */
export async function cardPassenger(paymentToken: string = approvingToken()): Promise<TestUser> {
  const passenger = await registerUser("passenger", { cpf: randomCpf() });
  await storeCard(passenger, paymentToken);
  return passenger;
}

export async function storeCard(passenger: TestUser, paymentToken: string): Promise<{ id: string }> {
  const reply = await call("POST", "/v1/payment-methods/cards", {
    token: passenger.accessToken,
    body: { payment_token: paymentToken, brand: "visa", last4: "4242" },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json;
}

/** Moves the ride's acceptance back past the grace period, in D1 and in its room. */
export async function acceptedLongAgo(rideId: string, seconds = GRACE_SECONDS + 60): Promise<void> {
  const at = new Date(Date.now() - seconds * 1000).toISOString();
  await env.DB.prepare("UPDATE rides SET accepted_at = ? WHERE id = ?").bind(at, rideId).run();
  await runInDurableObject(env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId)), (_instance, state) => {
    state.storage.sql.exec("UPDATE ride SET row = json_set(row, '$.acceptedAt', ?) WHERE id = 1", at);
  });
}

/** The driver takes the ride and walks it through `steps`, each answered 200. */
export async function driveTo(driver: TestUser, rideId: string, steps: ("accept" | "arrive" | "start")[]) {
  for (const step of steps) {
    const reply = await postRide(driver.accessToken, rideId, step);
    expect(reply.status, `${step}: ${reply.text}`).toBe(200);
  }
}

/**
 * A normal trip: accepted, arrived, started, and completed at the dropoff, the driver's app
 * reporting the estimate's own figures. Returns the completed ride.
 */
export async function normalTrip(driver: TestUser, ride: Record<string, any>) {
  await driveTo(driver, ride.id, ["accept", "arrive", "start"]);
  const completed = await completeAtDropoff(driver, ride.id, {
    distance_m: ride.estimated_distance_m,
    duration_s: ride.estimated_duration_s,
  });
  expect(completed.status, completed.text).toBe(200);
  return completed.json as Record<string, any>;
}

export async function walletOf(user: TestUser) {
  const reply = await call("GET", "/v1/wallet", { token: user.accessToken });
  expect(reply.status, reply.text).toBe(200);
  return reply.json as { pending_cents: number; available_cents: number; credit_cents: number };
}

export async function ridePayment(user: TestUser, rideId: string) {
  return call("GET", `/v1/rides/${rideId}/payment`, { token: user.accessToken });
}

/** Pays a Pix charge at the sandbox, as the payer's bank would; Efí's webhook follows. */
export async function payAtSandbox(txid: string): Promise<void> {
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
  expect(paid.status, paid.text).toBeLessThan(300);
}

/** Waits until `read` answers a payment with `status`. */
export async function waitForPaymentStatus(read: () => Promise<{ json: any }>, status: string) {
  await vi.waitFor(async () => {
    expect((await read()).json?.status).toBe(status);
  }, WAIT);
}

export async function quote(passenger: TestUser, body: Record<string, unknown>) {
  const reply = await call("POST", "/v1/rides/quote", { token: passenger.accessToken, body });
  expect(reply.status, reply.text).toBe(200);
  return reply.json as Record<string, any>;
}
