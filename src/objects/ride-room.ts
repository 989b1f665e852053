import { DurableObject } from "cloudflare:workers";

/** One per ride: the single writer of the ride's state, its sockets and its event log. */
export class RideRoom extends DurableObject<Env> {}
