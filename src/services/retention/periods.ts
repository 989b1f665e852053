/**
 * How long rows are kept after they stop being useful, in days. The nightly purge
 * (`purgeExpired`) applies these; docs/architecture.md ("Retention") has the same table with
 * the reasons. Changing a period means changing it here and there.
 */
export const RETENTION_DAYS = {
  /** After a refresh token's expiry: nothing can use it; a week keeps recent sessions inspectable. */
  refreshTokens: 7,
  /** After a rate-limit window started: every window is at most a day long. */
  rateLimits: 1,
  /** After an idempotency key's own expiry (IDEMPOTENCY_TTL_SECONDS): a replay is already refused. */
  idempotencyKeys: 0,
  /** After a quote's expiry: a day lets a late client still hear `quote_expired`, not `not_found`. */
  quotes: 1,
  /** A driver's last stored position, once he has not been seen for this long. */
  driverPositions: 30,
  /**
   * A ride's trace and the driver's last position in its RideRoom, after the ride ended: long
   * enough for a fare dispute or a card chargeback (up to 90 days); the room drops them itself.
   */
  rideTraces: 90,
} as const;

/** Rows deleted per statement, and statements per table per run: a run is bounded. */
export const PURGE_BATCH = 500;
export const PURGE_MAX_BATCHES = 20;
