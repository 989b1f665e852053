import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { call, expectProblem, registerUser } from "../helpers";
import { onlineDriver, postRide, rideRow, rideWithDriver } from "../ride-helpers";

// Accept asks the ride's room before anything else: in a race, every driver but the winner is
// answered from the room (in South America) without reading D1, and an id that names no ride
// leaves no room behind.

describe("POST /v1/rides/{id}/accept asks the ride's room first", () => {
  it("answers a ride taken by another driver from the room, before the loser's own checks", async () => {
    const { ride, driver: winner } = await rideWithDriver();
    // A driver who could not take any ride (offline, no vehicle) still learns the ride is gone:
    // the room answered, none of his D1 rows were read to decide it.
    const stranger = await registerUser("driver");
    expectProblem(await postRide(stranger.accessToken, ride.id, "accept"), 409, "ride_already_accepted");
    const loser = await onlineDriver();
    expectProblem(await postRide(loser.accessToken, ride.id, "accept"), 409, "ride_already_accepted");
    expect(await rideRow(ride.id)).toMatchObject({ status: "accepted", driver_id: winner.id });
    // The winner retrying gets his ride, not a refusal.
    const again = await postRide(winner.accessToken, ride.id, "accept");
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ id: ride.id, status: "accepted", driver_id: winner.id });
  });

  it("answers a closed ride ride_not_requested with its status", async () => {
    const { ride, passenger } = await rideWithDriver();
    const cancelled = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" });
    expect(cancelled.status, cancelled.text).toBe(200);
    const late = await onlineDriver();
    const reply = await postRide(late.accessToken, ride.id, "accept");
    expectProblem(reply, 409, "ride_not_requested");
    expect(reply.json.detail).toContain("cancelled");
  });

  it("answers 404 for an id that names no ride, and the room it addressed stores nothing", async () => {
    const driver = await onlineDriver();
    const guess = newId("ride");
    expectProblem(
      await call("POST", `/v1/rides/${guess}/accept`, { token: driver.accessToken }),
      404,
      "not_found",
    );
    const tables = await runInDurableObject(
      env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(guess)),
      (_room, state) =>
        state.storage.sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
          )
          .toArray()
          .map((t) => t.name),
    );
    expect(tables).toEqual([]);
  });
});
