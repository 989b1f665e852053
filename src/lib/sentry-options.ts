// Secrets that can ride in a URL or a header: the webhook's `?hmac=`, a socket `?ticket=`, a
// refused `?token=`, and bearer tokens (the Authorization header, `Sec-WebSocket-Protocol: bearer, …`).
const URL_SECRET = /((?:[?&"]|^)(?:hmac|ticket|token)=)[^&"\s\\]*/gi;
const BEARER = /(bearer,?\s*)[A-Za-z0-9._~+/-]+=*/gi;

/** The event with every secret-bearing value replaced, whatever field it sits in. */
export function scrubEvent<T extends object>(event: T): T {
  const text = JSON.stringify(event).replace(URL_SECRET, "$1[redacted]").replace(BEARER, "$1[redacted]");
  return JSON.parse(text) as T;
}

type SentryEnv = { SENTRY_DSN?: string; APP_ENV?: string; SENTRY_TRACES_SAMPLE_RATE?: string };

/**
 * Sentry for a Worker: off without a DSN; traces a sampled share of requests; scrubs whatever
 * could carry a secret (personal data is off by default). Read from the raw bindings, not the parsed
 * configuration, so a misconfigured deployment still reports itself.
 */
export function sentryOptions(env: SentryEnv) {
  if (!env.SENTRY_DSN) return undefined;
  const rate = Number(env.SENTRY_TRACES_SAMPLE_RATE ?? 0);
  return {
    dsn: env.SENTRY_DSN,
    environment: env.APP_ENV,
    tracesSampleRate: rate >= 0 && rate <= 1 ? rate : 0,
    // Spans are streamed (the SDK's default, pinned so SENTRY_TRACE_LIFECYCLE cannot change it):
    // they pass through `beforeSendSpan`, never through `beforeSendTransaction`.
    traceLifecycle: "stream" as const,
    beforeSend: scrubEvent,
    beforeSendSpan: scrubEvent,
  };
}
