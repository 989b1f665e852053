import { and, asc, eq, gte, lte, sql } from "drizzle-orm";
import { z } from "zod";
import { cities, PAYMENT_METHODS, type PaymentMethod } from "../../db/schema";
import type { LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

export interface City {
  id: string;
  name: string;
  timezone: string;
  paymentMethods: PaymentMethod[];
}

const PaymentMethodsSchema = z.array(z.enum(PAYMENT_METHODS));

/**
 * The active city whose bounding box contains the point, or null. Where boxes overlap, the
 * smallest box wins, so a city inside a wider metropolitan box is still found.
 */
export async function findCity(ctx: ServiceContext, point: LatLng): Promise<City | null> {
  const row = await ctx.db
    .select({
      id: cities.id,
      name: cities.name,
      timezone: cities.timezone,
      paymentMethods: cities.paymentMethods,
    })
    .from(cities)
    .where(
      and(
        eq(cities.active, true),
        lte(cities.minLat, point.lat),
        gte(cities.maxLat, point.lat),
        lte(cities.minLng, point.lng),
        gte(cities.maxLng, point.lng),
      ),
    )
    .orderBy(
      asc(sql`(${cities.maxLat} - ${cities.minLat}) * (${cities.maxLng} - ${cities.minLng})`),
      asc(cities.id),
    )
    .limit(1)
    .get();
  if (!row) return null;
  return { ...row, paymentMethods: parsePaymentMethods(row.id, row.paymentMethods) };
}

/**
 * Like `findCity`, but a point outside every service area is the caller's problem:
 * 422 `outside_service_area`, with `field` (e.g. "pickup") as the error path when given.
 */
export async function resolveCity(ctx: ServiceContext, point: LatLng, field?: string): Promise<City> {
  const city = await findCity(ctx, point);
  if (city) return city;
  const where = field ? `The ${field}` : "The location";
  const detail = `${where} (${point.lat}, ${point.lng}) is outside our service area`;
  throw new ApiError("outside_service_area", detail, {
    errors: field ? [{ path: field, message: "outside our service area" }] : undefined,
  });
}

/** The column is seeded by migration; a malformed value is our bug, so it fails loudly (500). */
function parsePaymentMethods(cityId: string, json: string): PaymentMethod[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`cities.payment_methods of ${cityId} is not JSON`);
  }
  const parsed = PaymentMethodsSchema.safeParse(value);
  if (!parsed.success)
    throw new Error(`cities.payment_methods of ${cityId} is not a list of payment methods`);
  return parsed.data;
}
