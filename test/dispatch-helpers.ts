import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, registerUser, type TestUser, unique } from "./helpers";
import { postRide, rideRow } from "./ride-helpers";

// Dispatch tests work around pickups of their own and request rides there; each test ends with its
// rides cancelled and its drivers offline, so a ride of one test never reaches another's drivers.

export type Point = { lat: number; lng: number };

const METRES_PER_DEGREE_LAT = 111_195;

/** The point `metres` due north of `p`. */
export const north = (p: Point, metres: number): Point => ({
  lat: p.lat + metres / METRES_PER_DEGREE_LAT,
  lng: p.lng,
});

/** Hands out `spots` one at a time, so each test gets a pickup no other test uses. */
export function spotsInOrder(spots: Point[]): () => Point {
  let next = 0;
  return () => {
    const p = spots[next++];
    if (!p) throw new Error("out of spots");
    return p;
  };
}

/** The rides a test requested, for `cleanUp` in its `afterEach`. */
export class RequestedRides {
  private made: { passenger: TestUser; rideId: string }[] = [];

  /** A pix ride of the `pop` category from `pickup` to 3 km north, by a new passenger if none given. */
  async request(pickup: Point, passenger?: TestUser): Promise<{ passenger: TestUser; rideId: string }> {
    const who = passenger ?? (await registerUser("passenger"));
    const reply = await call("POST", "/v1/rides", {
      token: who.accessToken,
      headers: { "idempotency-key": unique() },
      body: { pickup, dropoff: north(pickup, 3000), category: "pop", payment_method: "pix" },
    });
    expect(reply.status, reply.text).toBe(201);
    this.track(who, reply.json.id);
    return { passenger: who, rideId: reply.json.id as string };
  }

  /** A ride the test requested another way. */
  track(passenger: TestUser, rideId: string): void {
    this.made.push({ passenger, rideId });
  }

  /** Cancels those still waiting for a driver and sets every driver offline. */
  async cleanUp(): Promise<void> {
    for (const { passenger, rideId } of this.made.splice(0)) {
      if ((await rideRow(rideId))?.status === "requested") {
        await postRide(passenger.accessToken, rideId, "cancel", { reason: "test over" });
      }
    }
    await env.DB.prepare("UPDATE drivers SET status = 'offline'").run();
  }
}
