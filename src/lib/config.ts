import { z } from "zod";
import { isDeployedUrl, isPublicSecret } from "./deployed-config";

const base64Key32 = z.string().refine((v) => {
  try {
    return atob(v).length === 32;
  } catch {
    return false;
  }
}, "must be 32 bytes, base64");

const signingKeys = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    const keys = text.split(",").map((pair) => {
      const at = pair.indexOf(":");
      return { kid: pair.slice(0, at).trim(), secret: pair.slice(at + 1).trim() };
    });
    for (const key of keys) {
      if (!key.kid || key.secret.length < 32) {
        ctx.addIssue({ code: "custom", message: "each key is kid:secret with a secret of 32+ chars" });
        return z.NEVER;
      }
    }
    return keys;
  });

const positiveInt = z.coerce.number().int().positive();

/** Every variable and secret the Worker reads, checked once per isolate at the entry. */
const configSchema = z.object({
  APP_ENV: z.enum(["development", "test", "staging", "production"]),
  JWT_SIGNING_KEYS: signingKeys,
  ACCESS_TOKEN_TTL_SECONDS: positiveInt,
  REFRESH_TOKEN_TTL_SECONDS: positiveInt,
  CPF_ENCRYPTION_KEY: base64Key32,
  CPF_HASH_KEY: base64Key32,
  LOGIN_WINDOW_SECONDS: positiveInt,
  /** Failed sign-ins per account and client IP pair in a window; a success resets the pair. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT_IP: positiveInt,
  LOGIN_MAX_ATTEMPTS_PER_IP: positiveInt,
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  SENTRY_DSN: z.string().default(""),
  /** Share of requests Sentry traces (0–1); errors are always reported. */
  SENTRY_TRACES_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Bearer token of `GET /metrics` (the Prometheus scraper's own); empty: nobody may scrape. */
  METRICS_TOKEN: z.string().default(""),
  /**
   * Where /metrics reads request series back from Analytics Engine (Cloudflare account id, the
   * dataset, and a token with Account Analytics read); any empty: those series are left out.
   */
  ANALYTICS_ACCOUNT_ID: z.string().default(""),
  ANALYTICS_DATASET: z.string().default(""),
  ANALYTICS_API_TOKEN: z.string().default(""),
  QUOTE_TTL_SECONDS: positiveInt,
  RIDE_REQUEST_TTL_SECONDS: positiveInt,
  CANCELLATION_GRACE_SECONDS: positiveInt,
  IDEMPOTENCY_TTL_SECONDS: positiveInt,
  LOCATION_BROADCAST_INTERVAL_MS: positiveInt,
  NEARBY_RADIUS_M: positiveInt,
  /** Trip integrity: the fare policy of a completed ride and where it may be completed. */
  TRIP_DISTANCE_TOLERANCE_PCT: positiveInt.default(20),
  TRIP_DURATION_TOLERANCE_S: positiveInt.default(900),
  /** The most a measured fare may be, as a multiple of the quote (e.g. 2 or 1.5). */
  TRIP_FARE_CAP_MULTIPLE: z.coerce.number().min(1).max(10).default(2),
  COMPLETE_MAX_DROPOFF_DISTANCE_M: positiveInt.default(500),
  /** How old a driver's stored position may be for them to accept a ride. */
  DRIVER_POSITION_MAX_AGE_S: positiveInt.default(60),
  // Dispatch: offers go out in batches of the nearest eligible drivers, each open for a window;
  // the search radius widens through the steps (metres, ascending), the last being the maximum.
  DISPATCH_BATCH_SIZE: positiveInt.default(5),
  OFFER_TTL_SECONDS: positiveInt.default(15),
  DISPATCH_RADIUS_STEPS_M: z
    .string()
    .default("2000,4000,8000")
    .transform((v) => v.split(",").map((step) => Number(step.trim())))
    .pipe(z.array(z.number().int().positive()).min(1))
    .refine((steps) => steps.every((step, i) => i === 0 || step > (steps[i - 1] ?? 0)), "must ascend"),
  // Driver cancellations: more than the limit in the window takes the driver offline for the cool-down.
  DRIVER_CANCEL_LIMIT: positiveInt.default(3),
  DRIVER_CANCEL_WINDOW_SECONDS: positiveInt.default(3600),
  DRIVER_CANCEL_COOLDOWN_SECONDS: positiveInt.default(1800),
  // A driver whose available balance is below minus this (a MED or a refund after payout) cannot
  // go online until later earnings or a top-up cover it; 0 refuses any debt.
  DRIVER_DEBT_ONLINE_LIMIT_CENTS: z.coerce.number().int().min(0).default(5000),
  // Efí (see docs/architecture.md, Payments). Base URLs point at the local sandbox in dev.
  EFI_PIX_BASE_URL: z.url(),
  EFI_CARD_BASE_URL: z.string().default(""),
  EFI_CLIENT_ID: z.string().min(1),
  EFI_CLIENT_SECRET: z.string().min(1),
  EFI_PIX_KEY: z.string().min(1).max(77),
  EFI_WEBHOOK_HMAC_SECRET: z.string().min(16),
  /** Comma-separated sender IPs allowed on the webhook (Efí: 34.193.116.226); empty: not checked. */
  EFI_WEBHOOK_ALLOWED_IPS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((ip) => ip.trim())
        .filter(Boolean),
    ),
  EFI_TIMEOUT_MS: positiveInt,
  EFI_RETRY_ATTEMPTS: positiveInt,
  PUBLIC_BASE_URL: z.url(),
  PIX_CHARGE_TTL_SECONDS: positiveInt,
  /** Which rail sends payouts: Efí's Pix send, or the local rail (no money moves; dev and tests). */
  PAYOUT_RAIL: z.enum(["efi", "local"]).default("efi"),
  // Push through Firebase Cloud Messaging HTTP v1. An empty project turns push off: notifications
  // are then inbox rows only. Dev and tests point the two URLs at the local emulator (sandbox/push).
  FCM_PROJECT_ID: z.string().default(""),
  /** The service account's `client_email`: the `iss` of the JWT exchanged for an access token. */
  FCM_CLIENT_EMAIL: z.string().default(""),
  /** The service account's `private_key` (PKCS#8 PEM; `\n` escapes are accepted). A secret. */
  FCM_PRIVATE_KEY: z.string().default(""),
  FCM_OAUTH_URL: z.url().default("https://oauth2.googleapis.com/token"),
  FCM_BASE_URL: z.url().default("https://fcm.googleapis.com"),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // Names of the broken variables only: never their values, which may be secrets.
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const problems = deployedProblems(parsed.data, env);
  if (problems.length > 0) throw new ConfigError(problems);
  cache.set(env, parsed.data);
  return parsed.data;
}

/**
 * What staging and production demand beyond a well-formed configuration, as the names of what
 * is wrong (never a value). Development and test run without them: the local sandbox, no
 * certificate, the local rails. Anything that fails open locally (an empty allowlist checks no
 * sender, an empty card URL picks a provider that approves every charge) is refused here.
 */
function deployedProblems(config: Config, env: object): string[] {
  if (config.APP_ENV === "development" || config.APP_ENV === "test") return [];
  const problems: string[] = [];
  // Every binding is checked, not only the ones named here, so a secret added later is covered
  // as soon as its development value is listed.
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string" && name !== "JWT_SIGNING_KEYS" && isPublicSecret(value)) {
      problems.push(`${name}: a committed development value`);
    }
  }
  if (config.JWT_SIGNING_KEYS.some((key) => isPublicSecret(key.secret))) {
    problems.push("JWT_SIGNING_KEYS: a committed development value");
  }
  if (config.METRICS_TOKEN.length < 32) problems.push("METRICS_TOKEN: required, 32+ characters");
  if (!config.SENTRY_DSN) problems.push("SENTRY_DSN: required");
  for (const name of ["EFI_PIX_BASE_URL", "EFI_CARD_BASE_URL", "PUBLIC_BASE_URL"] as const) {
    if (!isDeployedUrl(config[name])) problems.push(`${name}: required, https and not loopback`);
  }
  if (config.EFI_WEBHOOK_ALLOWED_IPS.length === 0) problems.push("EFI_WEBHOOK_ALLOWED_IPS: required");
  const mtls = (env as { EFI_MTLS?: { fetch?: unknown } }).EFI_MTLS;
  if (typeof mtls?.fetch !== "function") problems.push("EFI_MTLS: mtls_certificates binding missing");
  if (config.PAYOUT_RAIL !== "efi") problems.push("PAYOUT_RAIL: must be efi");
  // The bench's D1 round-trip instrumentation (src/lib/d1-round-trips.ts) is development only.
  if ((env as { D1_ROUND_TRIP_HEADER?: unknown }).D1_ROUND_TRIP_HEADER === "true") {
    problems.push("D1_ROUND_TRIP_HEADER: development only");
  }
  return problems;
}
