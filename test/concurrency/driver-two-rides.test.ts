import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../helpers";
import { expectRideConsistent, onlineDriver, postRide, requestedRide } from "../ride-helpers";

async function activeRidesOf(driverId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id FROM rides WHERE driver_id = ? AND status IN ('accepted', 'arrived', 'in_progress')",
  )
    .bind(driverId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

describe("one driver, two rides at once", { timeout: 30_000 }, () => {
  it.each([1, 2, 3])(
    "round %i: one accept wins, the other is 409 driver_has_active_ride and stays on offer",
    async () => {
      const driver = await onlineDriver();
      const [a, b] = await Promise.all([requestedRide(), requestedRide()]);

      const replies = await Promise.all(
        [a, b].map(({ ride }) => postRide(driver.accessToken, ride.id, "accept")),
      );

      expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
      const wonIndex = replies.findIndex((r) => r.status === 200);
      const won = [a, b][wonIndex]?.ride.id as string;
      const lost = [a, b][1 - wonIndex]?.ride.id as string;
      expectProblem(replies[1 - wonIndex] as (typeof replies)[number], 409, "driver_has_active_ride");

      expect(await activeRidesOf(driver.id)).toEqual([won]);
      expect((await expectRideConsistent(won)).row).toMatchObject({
        status: "accepted",
        driver_id: driver.id,
      });
      const loser = await expectRideConsistent(lost);
      expect(loser.row).toMatchObject({ status: "requested", driver_id: null, last_seq: 1 });
      expect(loser.events.map((e) => e.type)).toEqual(["ride.created"]);

      // The losing ride's room was not left believing it was taken: another driver can accept it.
      const other = await onlineDriver();
      const taken = await postRide(other.accessToken, lost, "accept");
      expect(taken.status, taken.text).toBe(200);
      expect(taken.json).toMatchObject({ status: "accepted", driver_id: other.id, seq: 2 });
      await expectRideConsistent(lost);
      // And the first driver is still refused a second ride until theirs is over.
      const { ride: third } = await requestedRide();
      expectProblem(await postRide(driver.accessToken, third.id, "accept"), 409, "driver_has_active_ride");
    },
  );
});
