import { DurableObject } from "cloudflare:workers";
import type { RateLimiterPort, RateRule, RateVerdict } from "../services/requests/rate-limiter-port";

interface Window {
  start: number;
  seconds: number;
  count: number;
}

/**
 * One counter: a route family for one subject (an IP, a user, an account and IP pair). A Durable
 * Object serializes its hits, so the count is exact, the same under `wrangler dev`, in tests and
 * in production. The window lives in the object's synchronous SQLite-backed storage; an expired
 * one is overwritten by the next hit rather than swept.
 */
export class RateLimiter extends DurableObject<Env> implements RateLimiterPort {
  async hit(rule: RateRule, nowMs: number): Promise<RateVerdict> {
    const now = Math.floor(nowMs / 1000);
    const start = now - (now % rule.windowSeconds);
    const retryAfter = start + rule.windowSeconds - now;
    const stored = this.ctx.storage.kv.get<Window>("window");
    const current = stored?.start === start && stored.seconds === rule.windowSeconds ? stored.count : 0;
    if (current >= rule.limit) return { allowed: false, count: current, retryAfter };
    this.ctx.storage.kv.put("window", { start, seconds: rule.windowSeconds, count: current + 1 });
    return { allowed: true, count: current + 1, retryAfter };
  }

  async reset(): Promise<void> {
    this.ctx.storage.kv.delete("window");
  }
}
