import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import { type PageQuery, pageOf } from "../../lib/pagination";
import type { ServiceContext } from "../context";

export interface AuditFilter {
  actor_id?: string;
  target_type?: string;
  target_id?: string;
  /** Inclusive lower bound of `created_at` (ISO 8601). */
  from?: string;
  /** Exclusive upper bound of `created_at` (ISO 8601). */
  to?: string;
}

/** Audit entries, newest first, filtered by actor, target and time; cursor = the last id seen. */
export async function listAuditLogs(ctx: ServiceContext, query: PageQuery & AuditFilter) {
  const where: SQL[] = [];
  if (query.cursor) where.push(lt(auditLogs.id, query.cursor));
  if (query.actor_id) where.push(eq(auditLogs.actorId, query.actor_id));
  if (query.target_type) where.push(eq(auditLogs.targetType, query.target_type));
  if (query.target_id) where.push(eq(auditLogs.targetId, query.target_id));
  if (query.from) where.push(gte(auditLogs.createdAt, new Date(query.from).toISOString()));
  if (query.to) where.push(lt(auditLogs.createdAt, new Date(query.to).toISOString()));
  const rows = await ctx.db
    .select()
    .from(auditLogs)
    .where(and(...where))
    .orderBy(desc(auditLogs.id))
    .limit(query.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, query.limit);
  return {
    items: items.map((row) => ({
      id: row.id,
      actor_id: row.actorId,
      action: row.action,
      target_type: row.targetType,
      target_id: row.targetId,
      before: row.before === null ? null : JSON.parse(row.before),
      after: row.after === null ? null : JSON.parse(row.after),
      request_id: row.requestId,
      reason: row.reason,
      created_at: row.createdAt,
    })),
    next_cursor,
  };
}
