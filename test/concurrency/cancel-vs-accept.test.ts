import { describe, expect, it } from "vitest";
import { expectProblem } from "../helpers";
import { expectRideConsistent, onlineDriver, postRide, requestedRide } from "../ride-helpers";

describe("the passenger cancels while a driver accepts", { timeout: 30_000 }, () => {
  it.each(Array.from({ length: 10 }, (_, i) => i + 1))(
    "round %i: the outcome is one of the two orders, and D1 agrees with its events",
    async () => {
      const { passenger, ride } = await requestedRide();
      const driver = await onlineDriver();

      const [cancel, accept] = await Promise.all([
        postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" }),
        postRide(driver.accessToken, ride.id, "accept"),
      ]);

      expect(cancel.status, cancel.text).toBe(200);
      const { row, events } = await expectRideConsistent(ride.id);
      expect(row).toMatchObject({
        status: "cancelled",
        cancelled_by: "passenger",
        cancellation_fee_cents: 0,
      });
      if (accept.status === 200) {
        // Accepted first, then cancelled within the grace period: no fee, the driver stays on record.
        expect(events.map((e) => e.type)).toEqual(["ride.created", "ride.accepted", "ride.cancelled"]);
        expect(row).toMatchObject({ driver_id: driver.id, last_seq: 3 });
        expect(typeof row?.accepted_at).toBe("string");
        expect(cancel.json).toMatchObject({ status: "cancelled", driver_id: driver.id, seq: 3 });
      } else {
        expectProblem(accept, 409, "ride_not_requested");
        expect(events.map((e) => e.type)).toEqual(["ride.created", "ride.cancelled"]);
        expect(row).toMatchObject({ driver_id: null, accepted_at: null, last_seq: 2 });
      }
      // Either way the driver is free for the next ride.
      const { ride: next } = await requestedRide();
      expect((await postRide(driver.accessToken, next.id, "accept")).status).toBe(200);
    },
  );
});
