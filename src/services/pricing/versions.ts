import { eq } from "drizzle-orm";
import { z } from "zod";
import { cities } from "../../db/schema";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

/**
 * What pricing and commission versions share. A version is a point in time: it is in force from
 * its `effective_from` until the next non-retired version of the same city and category takes
 * over, so two versions can only collide by having the same `effective_from`
 * (`rule_version_conflict`). Versions are never edited; a retired one is never picked.
 */

/** A 400 naming the one field that is wrong, changing nothing. */
export function invalidField(path: string, message: string): ApiError {
  return new ApiError("validation_failed", `${path} ${message}`, { errors: [{ path, message }] });
}

/**
 * `effective_from` as stored (ISO 8601 UTC, millisecond precision). Omitted means now; a given
 * time must not be in the past (a version cannot rewrite what was already priced).
 */
export function effectiveFromOf(ctx: ServiceContext, given: string | undefined): string {
  const now = ctx.now();
  if (given === undefined) return now.toISOString();
  const at = new Date(given);
  if (at.getTime() < now.getTime()) {
    throw invalidField("effective_from", "is in the past; omit it for now, or schedule a later time");
  }
  return at.toISOString();
}

const Categories = z.array(z.string());

/** The city must exist and offer the category, or a 400 names the wrong field. */
export async function assertCityOffers(ctx: ServiceContext, cityId: string, category: string): Promise<void> {
  const city = await ctx.db
    .select({ categories: cities.categories })
    .from(cities)
    .where(eq(cities.id, cityId))
    .get();
  if (!city) throw invalidField("city_id", "is not a known city");
  const offered = Categories.parse(JSON.parse(city.categories));
  if (!offered.includes(category)) {
    throw invalidField("category", `is not offered in ${cityId} (offered: ${offered.join(", ") || "none"})`);
  }
}
