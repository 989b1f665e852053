import { auditLogs } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  /** Why staff made the change; required by the admin pricing, commission, city and surge routes. */
  reason?: string;
}

/** The insert for one audit row, to be batched with the change it describes. */
export function auditStatement(ctx: ServiceContext, entry: AuditEntry) {
  const now = ctx.now();
  return ctx.db.insert(auditLogs).values({
    id: newId("aud", now.getTime()),
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after),
    requestId: ctx.requestId,
    reason: entry.reason ?? null,
    createdAt: now.toISOString(),
  });
}
