import { DurableObject } from "cloudflare:workers";

/** One per user: the sockets of `/v1/ws` and events addressed to that user. */
export class UserChannel extends DurableObject<Env> {}
