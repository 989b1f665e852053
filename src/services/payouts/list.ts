import { and, desc, eq, lt } from "drizzle-orm";
import { payouts } from "../../db/schema";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import type { ServiceContext } from "../context";
import { payoutView } from "./view";

/** The driver's payouts, newest first. */
export async function listPayouts(ctx: ServiceContext, driverId: string, page: PageQuery) {
  const owner = eq(payouts.driverId, driverId);
  const rows = await ctx.db
    .select()
    .from(payouts)
    .where(page.cursor ? and(owner, lt(payouts.id, page.cursor)) : owner)
    .orderBy(desc(payouts.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(payoutView), next_cursor };
}
