import { createDb } from "./db/client";
import { LocalCardProvider } from "./integrations/card/provider";
import { createEfiCardProvider, createEfiClient, type EfiFetch } from "./integrations/efi";
import { EfiPayoutRail } from "./integrations/efi/payout-rail";
import { pushClientOf } from "./integrations/fcm";
import { LocalPayoutRail } from "./integrations/payout-rail";
import { loadConfig } from "./lib/config";
import { createLogger } from "./lib/logger";
import { createMetrics } from "./lib/metrics";
import { createPublisher } from "./objects/publisher";
import { driverIndexOf, limitOf, rideRoomOf, userChannelOf } from "./objects/stubs";
import type { ServiceContext } from "./services/context";
import { greatCircleRouting } from "./services/pricing/routing";

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
  const now = () => new Date();
  return {
    db: createDb(env.DB),
    config,
    now,
    log,
    metrics: createMetrics(env.METRICS, log, env.CF_VERSION_METADATA?.id),
    requestId,
    routing: greatCircleRouting,
    payoutRail: config.PAYOUT_RAIL === "local" ? new LocalPayoutRail(config.APP_ENV) : new EfiPayoutRail(efi),
    efi,
    cards: config.EFI_CARD_BASE_URL
      ? createEfiCardProvider({ ...efiCredentials, baseUrl: config.EFI_CARD_BASE_URL })
      : new LocalCardProvider(config.APP_ENV),
    // workerd's fetch refuses to be called as another object's method: wrap it.
    push: pushClientOf(config, (input, init) => fetch(input, init), now),
    publish: createPublisher(env, log, now),
    rideRoom: (rideId) => rideRoomOf(env, rideId),
    userChannel: (userId) => userChannelOf(env, userId),
    driverIndex: (area) => driverIndexOf(env, area),
    limits: (family, subject) => limitOf(env, family, subject),
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
