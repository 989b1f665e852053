import type { Database } from "../db/client";
import type { UserRole } from "../db/schema";
import type { Config } from "./config";
import type { Logger } from "./logger";

/**
 * What a service needs from the outside world. Built once per request by the context
 * middleware (and by queue, cron and object entry points); tests build their own.
 */
export interface ServiceContext {
  db: Database;
  config: Config;
  now: () => Date;
  log: Logger;
  requestId: string;
}

export interface AuthUser {
  id: string;
  role: UserRole;
  sessionId: string;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    ctx: ServiceContext;
    requestId: string;
    user: AuthUser;
  };
};
