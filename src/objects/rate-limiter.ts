import { DurableObject } from "cloudflare:workers";
import type { RateLimiterPort, RateRule, RateVerdict } from "../services/requests/rate-limiter-port";
import { countHit, type RateWindow } from "../services/requests/rate-window";

/**
 * One counter for a subject that is not a user: an IP, an account and IP pair (a user's own
 * limits live in the user's `UserChannel`, see `userLimitsOf`). A Durable Object serializes its
 * hits, so the count is exact, the same under `wrangler dev`, in tests and in production. The
 * window lives in the object's synchronous SQLite-backed storage.
 */
export class RateLimiter extends DurableObject<Env> implements RateLimiterPort {
  async hit(rule: RateRule, nowMs: number): Promise<RateVerdict> {
    const { verdict, next } = countHit(this.ctx.storage.kv.get<RateWindow>("window"), rule, nowMs);
    if (next) this.ctx.storage.kv.put("window", next);
    return verdict;
  }

  async reset(): Promise<void> {
    this.ctx.storage.kv.delete("window");
  }
}
