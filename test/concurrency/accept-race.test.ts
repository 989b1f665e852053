import { describe, expect, it } from "vitest";
import { expectProblem } from "../helpers";
import { expectRideConsistent, onlineDriver, postRide, requestedRide } from "../ride-helpers";

const DRIVERS = 50;

// Fifty sign-ups per round (password hashing included) take a few seconds on a busy machine.
describe("accept race: many drivers take one ride at once", { timeout: 60_000 }, () => {
  it.each([1, 2, 3])(
    "round %i: exactly one 200, every other driver 409 ride_already_accepted, no 5xx",
    async () => {
      const drivers = await Promise.all(Array.from({ length: DRIVERS }, () => onlineDriver()));
      const { passenger, ride } = await requestedRide();

      const replies = await Promise.all(
        drivers.map((driver) => postRide(driver.accessToken, ride.id, "accept")),
      );

      expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
      expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
      const index = replies.findIndex((r) => r.status === 200);
      const [reply, winner] = [replies[index], drivers[index]];
      if (!reply || !winner) throw new Error("no winner");
      expect(reply.json).toMatchObject({ id: ride.id, status: "accepted", driver_id: winner.id, seq: 2 });
      for (const loser of replies.filter((r) => r.status !== 200))
        expectProblem(loser, 409, "ride_already_accepted");

      const { row, events } = await expectRideConsistent(ride.id);
      expect(row).toMatchObject({
        status: "accepted",
        driver_id: winner.id,
        passenger_id: passenger.id,
        last_seq: 2,
      });
      expect(events.filter((e) => e.type === "ride.accepted")).toEqual([
        { seq: 2, type: "ride.accepted", actor_id: winner.id },
      ]);
    },
  );
});
