import { and, eq, isNotNull, lt, sql } from "drizzle-orm";
import { drivers } from "../../db/schema";
import type { ServiceContext } from "../context";
import { PURGE_BATCH, PURGE_MAX_BATCHES, RETENTION_DAYS } from "./periods";

export interface PurgeReport {
  refresh_tokens: number;
  rate_limits: number;
  idempotency_keys: number;
  quotes: number;
  driver_positions: number;
}

const daysBefore = (at: Date, days: number) => new Date(at.getTime() - days * 86_400_000);

/**
 * Deletes, in bounded batches, the rows past their retention (RETENTION_DAYS) as of `at`. Each
 * table is purged even if another failed (the failure is rethrown after); running it twice
 * deletes nothing more. The next night takes whatever a run left over its bound.
 */
export async function purgeExpired(ctx: ServiceContext, at: Date): Promise<PurgeReport> {
  const iso = (days: number) => daysBefore(at, days).toISOString();
  const rateCutoffMs = daysBefore(at, RETENTION_DAYS.rateLimits).getTime();
  const failures: unknown[] = [];
  const purge = async (table: string, where: ReturnType<typeof sql>) => {
    let deleted = 0;
    try {
      for (let i = 0; i < PURGE_MAX_BATCHES; i++) {
        const result = await ctx.db.run(
          sql`DELETE FROM ${sql.identifier(table)} WHERE rowid IN (SELECT rowid FROM ${sql.identifier(table)} WHERE ${where} LIMIT ${PURGE_BATCH})`,
        );
        const changes = result.meta.changes ?? 0;
        deleted += changes;
        if (changes < PURGE_BATCH) break;
      }
    } catch (error) {
      ctx.log.error("retention.purge_failed", { table, error: String(error) });
      failures.push(error);
    }
    return deleted;
  };

  const report: PurgeReport = {
    refresh_tokens: await purge("refresh_tokens", sql`expires_at < ${iso(RETENTION_DAYS.refreshTokens)}`),
    // The window start is in seconds or milliseconds depending on who wrote it; both are compared.
    rate_limits: await purge(
      "rate_limits",
      sql`(CASE WHEN window_start < 100000000000 THEN window_start * 1000 ELSE window_start END) < ${rateCutoffMs}`,
    ),
    idempotency_keys: await purge(
      "idempotency_keys",
      sql`expires_at < ${iso(RETENTION_DAYS.idempotencyKeys)}`,
    ),
    quotes: await purge("quotes", sql`expires_at < ${iso(RETENTION_DAYS.quotes)}`),
    driver_positions: 0,
  };
  try {
    const cleared = await ctx.db
      .update(drivers)
      .set({ lastLat: null, lastLng: null, lastCell: null, lastSeenAt: null, updatedAt: at.toISOString() })
      .where(
        and(
          eq(drivers.status, "offline"),
          isNotNull(drivers.lastSeenAt),
          lt(drivers.lastSeenAt, iso(RETENTION_DAYS.driverPositions)),
        ),
      )
      .returning({ id: drivers.userId });
    report.driver_positions = cleared.length;
  } catch (error) {
    failures.push(error);
  }
  ctx.log.info("retention.purged", { ...report });
  if (failures.length > 0) throw new AggregateError(failures, "retention purge: some tables failed");
  return report;
}
