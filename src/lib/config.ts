import { z } from "zod";

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
  QUOTE_TTL_SECONDS: positiveInt,
  RIDE_REQUEST_TTL_SECONDS: positiveInt,
  CANCELLATION_GRACE_SECONDS: positiveInt,
  IDEMPOTENCY_TTL_SECONDS: positiveInt,
  LOCATION_BROADCAST_INTERVAL_MS: positiveInt,
  NEARBY_RADIUS_M: positiveInt,
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
  cache.set(env, parsed.data);
  return parsed.data;
}
