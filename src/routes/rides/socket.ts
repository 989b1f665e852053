import { createRouter } from "../../http/router";
import { CLOSE_CODES } from "../../objects/protocol";
import { rideRoomOf } from "../../objects/stubs";
import { rideParticipants } from "../../services/rides/queries";
import { forwarded, refuse, socketUser } from "../sockets";

/** A ride's live events and driver positions, for its passenger and its driver only. */
export const rideSocketRoutes = createRouter().get("/:id/ws", async (c) => {
  const user = await socketUser(c);
  if (user instanceof Response) return user;
  const ctx = c.get("ctx");
  const ride = await rideParticipants(ctx, c.req.param("id"));
  if (!ride) return refuse(c, CLOSE_CODES.notFound, "no such ride");
  const role = ride.passengerId === user.id ? "passenger" : ride.driverId === user.id ? "driver" : null;
  if (!role) return refuse(c, CLOSE_CODES.forbidden, "only the ride's passenger and driver may listen");
  return rideRoomOf(ctx.env, c.req.param("id")).fetch(forwarded(c, user, role));
});
