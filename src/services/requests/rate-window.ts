import type { RateRule, RateVerdict } from "./rate-limiter-port";

/** One counter's state: hits in the window that starts at `start` (epoch seconds). */
export interface RateWindow {
  start: number;
  seconds: number;
  count: number;
}

/**
 * One hit against a fixed window aligned to the epoch: the verdict, and the window to store when
 * the hit is counted (null when refused: a refused hit is not counted). An expired window is
 * replaced by the next hit rather than swept.
 */
export function countHit(
  stored: RateWindow | undefined,
  rule: RateRule,
  nowMs: number,
): { verdict: RateVerdict; next: RateWindow | null } {
  const now = Math.floor(nowMs / 1000);
  const start = now - (now % rule.windowSeconds);
  const retryAfter = start + rule.windowSeconds - now;
  const current = stored?.start === start && stored.seconds === rule.windowSeconds ? stored.count : 0;
  if (current >= rule.limit) return { verdict: { allowed: false, count: current, retryAfter }, next: null };
  return {
    verdict: { allowed: true, count: current + 1, retryAfter },
    next: { start, seconds: rule.windowSeconds, count: current + 1 },
  };
}
