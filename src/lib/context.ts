import { createDb, type Database } from "../db/client";
import type { UserRole } from "../db/schema";
import { type CardProvider, LocalCardProvider } from "../integrations/card/provider";
import { createEfiCardProvider, createEfiClient, type EfiClient, type EfiFetch } from "../integrations/efi";
import { EfiPayoutRail } from "../integrations/efi/payout-rail";
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
  /**
   * Sends payouts by Pix: Efí's Pix send, or the local rail when PAYOUT_RAIL = "local" (the test
   * suite's default). Tests may swap in another.
   */
  payoutRail: PayoutRail;
  /** Efí's API Pix: charges, QR codes, refunds, Pix sends. */
  efi: EfiClient;
  /** Card charges (Efí's card API, or the local provider when no card API is configured). */
  cards: CardProvider;
  /** Bindings: Durable Object namespaces and queue producers reach services through here. */
  env: Env;
}

/** The composition root: the one place that picks real implementations for a context. */
export function createServiceContext(env: Env, requestId: string = crypto.randomUUID()): ServiceContext {
  const config = loadConfig(env);
  const log = createLogger({ request_id: requestId });
  const efiFetch = efiFetchOf(env);
  const efiCredentials = {
    clientId: config.EFI_CLIENT_ID,
    clientSecret: config.EFI_CLIENT_SECRET,
    fetch: efiFetch,
    log,
  };
  const efi = createEfiClient({
    ...efiCredentials,
    baseUrl: config.EFI_PIX_BASE_URL,
    pixKey: config.EFI_PIX_KEY,
    timeoutMs: config.EFI_TIMEOUT_MS,
    retry: { attempts: config.EFI_RETRY_ATTEMPTS, baseDelayMs: 200, maxDelayMs: 2000 },
  });
  return {
    db: createDb(env.DB),
    config,
    now: () => new Date(),
    log,
    requestId,
    routing: greatCircleRouting,
    payoutRail: config.PAYOUT_RAIL === "local" ? new LocalPayoutRail(config.APP_ENV) : new EfiPayoutRail(efi),
    efi,
    cards: config.EFI_CARD_BASE_URL
      ? createEfiCardProvider({ ...efiCredentials, baseUrl: config.EFI_CARD_BASE_URL })
      : new LocalCardProvider(config.APP_ENV),
    env,
  };
}

/**
 * Efí's API Pix demands a client certificate: in production through the `EFI_MTLS`
 * mtls_certificates binding; locally, plain fetch against the sandbox. Called as a plain
 * function: workerd's fetch refuses to be called as another object's method.
 */
function efiFetchOf(env: Env): EfiFetch {
  const binding = (env as { EFI_MTLS?: Fetcher }).EFI_MTLS;
  if (binding) return (input, init) => binding.fetch(input, init);
  return (input, init) => fetch(input, init);
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
