import type { AuthUser, ServiceContext } from "../services/context";
import type { PendingClaim } from "../services/requests/idempotency";

/** Hono's typing of the app: bindings, and what middleware puts on the request. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    ctx: ServiceContext;
    requestId: string;
    user: AuthUser;
    /** Set by `idempotentInBatch`: the key the route claims in its own first batch. */
    idempotency: PendingClaim;
  };
};
