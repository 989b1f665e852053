/** The route families with a limit; each counts per subject (an IP, a user, an account and IP). */
export type RateFamily =
  | "register_ip"
  | "login_ip"
  | "login_failures"
  | "quote_user"
  | "ride_request_user"
  | "ride_cancel_user"
  | "document_upload_user"
  | "data_export_user";

/** At most `limit` hits in each window of `windowSeconds`; windows are aligned to the epoch. */
export interface RateRule {
  limit: number;
  windowSeconds: number;
}

export interface RateVerdict {
  allowed: boolean;
  /** Hits counted in the current window, this one included when allowed. */
  count: number;
  /** Seconds until the current window ends (at least 1). */
  retryAfter: number;
}

/**
 * What services ask of one counter (`limitOf` says which object holds it). The
 * caller passes its own clock, so a test's clock is the counter's clock too.
 */
export interface RateLimiterPort {
  /** Counts one hit if the window has room; a refused hit is not counted. */
  hit(rule: RateRule, nowMs: number): Promise<RateVerdict>;
  /** Forgets the counter: a successful sign-in clears its account and IP pair. */
  reset(): Promise<void>;
}
