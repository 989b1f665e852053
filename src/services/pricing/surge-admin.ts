import { and, desc, eq, gt, isNull, type SQL } from "drizzle-orm";
import ngeohash from "ngeohash";
import { cities, surges } from "../../db/schema";
import { newId } from "../../lib/ids";
import { auditStatement } from "../audit/statement";
import type { ServiceContext } from "../context";
import { pricingInForce } from "./rules-admin";
import { assertCityOffers, invalidField } from "./versions";

/** A surge lasts at most this long: a forgotten one must end by itself. */
export const SURGE_MAX_DURATION_MS = 24 * 60 * 60 * 1000;

export interface SurgeInput {
  city_id: string;
  category: string;
  /** A geohash cell prefix, or null for the whole city. */
  zone: string | null;
  multiplier_bp: number;
  expires_at: string;
}

type SurgeRow = typeof surges.$inferSelect;

export function surgeView(row: SurgeRow) {
  return {
    id: row.id,
    city_id: row.cityId,
    category: row.category,
    zone: row.zone,
    multiplier_bp: row.multiplierBp,
    expires_at: row.expiresAt,
    created_by: row.createdBy,
    created_at: row.createdAt,
  };
}

/** Live (unexpired) surges, newest first. */
export async function listSurges(ctx: ServiceContext, query: { city_id?: string; category?: string }) {
  const where: (SQL | undefined)[] = [
    gt(surges.expiresAt, ctx.now().toISOString()),
    query.city_id ? eq(surges.cityId, query.city_id) : undefined,
    query.category ? eq(surges.category, query.category) : undefined,
  ];
  const rows = await ctx.db
    .select()
    .from(surges)
    .where(and(...where))
    .orderBy(desc(surges.id))
    .limit(100)
    .all();
  return { items: rows.map(surgeView) };
}

/**
 * Sets a surge: a new row that supersedes any live one of the same city, category and zone (a
 * surge ends early by setting 10000 = 1.0x, or a short expiry). The multiplier must lie within
 * the bounds of the pricing version in force now; quotes clamp to their own version's bounds.
 */
export async function setSurge(ctx: ServiceContext, actorId: string, input: SurgeInput, reason: string) {
  const now = ctx.now();
  const expiresMs = Date.parse(input.expires_at);
  if (expiresMs <= now.getTime()) throw invalidField("expires_at", "is not in the future");
  if (expiresMs > now.getTime() + SURGE_MAX_DURATION_MS)
    throw invalidField("expires_at", "is more than 24 hours ahead");
  await assertCityOffers(ctx, input.city_id, input.category);
  if (input.zone !== null) await assertZoneInCity(ctx, input.city_id, input.zone);
  const rule = await pricingInForce(ctx, input.city_id, input.category, now.toISOString());
  if (!rule) throw invalidField("category", "has no pricing version in force in this city");
  if (input.multiplier_bp < rule.surgeMinBp || input.multiplier_bp > rule.surgeMaxBp) {
    throw invalidField(
      "multiplier_bp",
      `must be within the pricing version's bounds, ${rule.surgeMinBp} to ${rule.surgeMaxBp}`,
    );
  }
  const superseded = await ctx.db
    .select()
    .from(surges)
    .where(
      and(
        eq(surges.cityId, input.city_id),
        eq(surges.category, input.category),
        input.zone === null ? isNull(surges.zone) : eq(surges.zone, input.zone),
        gt(surges.expiresAt, now.toISOString()),
      ),
    )
    .orderBy(desc(surges.id))
    .limit(1)
    .get();
  const row: SurgeRow = {
    id: newId("srg", now.getTime()),
    cityId: input.city_id,
    category: input.category,
    zone: input.zone,
    multiplierBp: input.multiplier_bp,
    expiresAt: new Date(expiresMs).toISOString(),
    createdBy: actorId,
    createdAt: now.toISOString(),
  };
  await ctx.db.batch([
    ctx.db.insert(surges).values(row),
    auditStatement(ctx, {
      actorId,
      action: "surge.set",
      targetType: "surge",
      targetId: row.id,
      before: superseded ? surgeView(superseded) : null,
      after: surgeView(row),
      reason,
    }),
  ]);
  return surgeView(row);
}

/** The zone's cell must overlap the city's bounding box. */
async function assertZoneInCity(ctx: ServiceContext, cityId: string, zone: string): Promise<void> {
  const box = await ctx.db
    .select({ minLat: cities.minLat, maxLat: cities.maxLat, minLng: cities.minLng, maxLng: cities.maxLng })
    .from(cities)
    .where(eq(cities.id, cityId))
    .get();
  const [minLat, minLng, maxLat, maxLng] = ngeohash.decode_bbox(zone);
  if (!box || maxLat < box.minLat || minLat > box.maxLat || maxLng < box.minLng || minLng > box.maxLng) {
    throw invalidField("zone", "is outside the city");
  }
}
