import { createDb, type Database } from "../db/client";
import type { UserRole } from "../db/schema";
import { LocalPayoutRail, type PayoutRail } from "../integrations/payout-rail";
import { greatCircleRouting, type RoutingProvider } from "../services/routing";
import { type Config, loadConfig } from "./config";
import { createLogger, type Logger } from "./logger";

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
  /** Trip distance and duration estimates; tests may swap in a fake. */
  routing: RoutingProvider;
  /** Sends payouts by Pix; the local rail until the Efí rail lands. Tests may swap in a fake. */
  payoutRail: PayoutRail;
  /** Bindings: Durable Object namespaces and queue producers reach services through here. */
  env: Env;
}

/** The composition root: the one place that picks real implementations for a context. */
export function createServiceContext(env: Env, requestId: string = crypto.randomUUID()): ServiceContext {
  const config = loadConfig(env);
  return {
    db: createDb(env.DB),
    config,
    now: () => new Date(),
    log: createLogger({ request_id: requestId }),
    requestId,
    routing: greatCircleRouting,
    payoutRail: new LocalPayoutRail(config.APP_ENV),
    env,
  };
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
