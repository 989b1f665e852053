import type { AuthUser, ServiceContext } from "../services/context";

/** Hono's typing of the app: bindings, and what middleware puts on the request. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    ctx: ServiceContext;
    requestId: string;
    user: AuthUser;
  };
};
