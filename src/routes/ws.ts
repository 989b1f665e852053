import { createRouter } from "../http/router";
import { userChannelOf } from "../objects/stubs";
import { forwarded, socketUser } from "./sockets";

/** The caller's own event stream: offers, their rides, wallet and payment events. */
export const userSocketRoutes = createRouter().get("/", async (c) => {
  const user = await socketUser(c);
  if (user instanceof Response) return user;
  const { env } = c.get("ctx");
  return userChannelOf(env, user.id).fetch(forwarded(c, user.id, user.role));
});
