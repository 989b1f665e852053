import { sql } from "drizzle-orm";
import { rateLimits } from "../../db/schema";
import type { ServiceContext } from "../context";

export interface RateLimitHit {
  key: string;
  count: number;
  /** Seconds until the current window ends. */
  retryAfter: number;
}

/**
 * Counts one hit on each key in a fixed window and returns the counts, all in one atomic batch.
 * A D1 counter rather than the Workers rate-limiting binding, so the limit is exact and behaves
 * the same under `wrangler dev` and in tests.
 */
export async function hitRateLimits(
  ctx: ServiceContext,
  keys: [string, ...string[]],
  windowSeconds: number,
): Promise<RateLimitHit[]> {
  const nowSeconds = Math.floor(ctx.now().getTime() / 1000);
  const windowStart = nowSeconds - (nowSeconds % windowSeconds);
  const upsert = (key: string) =>
    ctx.db
      .insert(rateLimits)
      .values({ key, windowStart, count: 1 })
      .onConflictDoUpdate({
        target: rateLimits.key,
        set: {
          count: sql`CASE WHEN ${rateLimits.windowStart} = ${windowStart} THEN ${rateLimits.count} + 1 ELSE 1 END`,
          windowStart,
        },
      })
      .returning({ count: rateLimits.count });
  const [first, ...rest] = keys.map(upsert);
  const results = await ctx.db.batch([first as NonNullable<typeof first>, ...rest]);
  const retryAfter = windowStart + windowSeconds - nowSeconds;
  return results.map((rows, i) => ({ key: keys[i] ?? "", count: rows[0]?.count ?? 0, retryAfter }));
}
