import { and, asc, eq, gte, lte, sql } from "drizzle-orm";
import { z } from "zod";
import { cities, PAYMENT_METHODS, type PaymentMethod } from "../../db/schema";
import type { LatLng } from "../../lib/geo";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { parseRing, ringContains } from "./service-area";

export interface City {
  id: string;
  name: string;
  timezone: string;
  paymentMethods: PaymentMethod[];
}

const PaymentMethodsSchema = z.array(z.enum(PAYMENT_METHODS));

/** How many overlapping bounding boxes a point may fall in before the polygon test decides. */
const MAX_CANDIDATES = 10;

/**
 * The active cities whose bounding box contains the point, smallest box first: the cheap SQL
 * prefilter of `findCity`, exposed so a caller can put it in a batch and finish with `pickCity`.
 */
export function cityCandidatesQuery(ctx: ServiceContext, point: LatLng) {
  return ctx.db
    .select({
      id: cities.id,
      name: cities.name,
      timezone: cities.timezone,
      paymentMethods: cities.paymentMethods,
      serviceArea: cities.serviceArea,
    })
    .from(cities)
    .where(activeBoxHolds(point))
    .orderBy(
      asc(sql`(${cities.maxLat} - ${cities.minLat}) * (${cities.maxLng} - ${cities.minLng})`),
      asc(cities.id),
    )
    .limit(MAX_CANDIDATES);
}

/** An active city whose bounding box holds the point (a condition on `cities`, for any query). */
export function activeBoxHolds(point: LatLng) {
  return and(
    eq(cities.active, true),
    lte(cities.minLat, point.lat),
    gte(cities.maxLat, point.lat),
    lte(cities.minLng, point.lng),
    gte(cities.maxLng, point.lng),
  );
}

export type CityCandidate = Awaited<ReturnType<ReturnType<typeof cityCandidatesQuery>["all"]>>[number];

/** The first candidate whose service area polygon (or, without one, its box) holds the point. */
export function pickCity(candidates: CityCandidate[], point: LatLng): City | null {
  for (const row of candidates) {
    const ring = parseRing(row.id, row.serviceArea);
    if (ring && !ringContains(ring, point)) continue;
    return {
      id: row.id,
      name: row.name,
      timezone: row.timezone,
      paymentMethods: parsePaymentMethods(row.id, row.paymentMethods),
    };
  }
  return null;
}

/**
 * The active city whose service area contains the point, or null. Where areas overlap, the
 * smallest bounding box wins, so a city inside a wider metropolitan area is still found.
 */
export async function findCity(ctx: ServiceContext, point: LatLng): Promise<City | null> {
  return pickCity(await cityCandidatesQuery(ctx, point).all(), point);
}

/**
 * Like `findCity`, but a point outside every service area is the caller's problem:
 * 422 `outside_service_area`, with `field` (e.g. "pickup") as the error path when given.
 */
export async function resolveCity(ctx: ServiceContext, point: LatLng, field?: string): Promise<City> {
  return cityOrThrow(await cityCandidatesQuery(ctx, point).all(), point, field);
}

/** `resolveCity` from candidates the caller already read (in a batch of its own). */
export function cityOrThrow(candidates: CityCandidate[], point: LatLng, field?: string): City {
  const city = pickCity(candidates, point);
  if (city) return city;
  const where = field ? `The ${field}` : "The location";
  const detail = `${where} (${point.lat}, ${point.lng}) is outside our service area`;
  throw new ApiError("outside_service_area", detail, {
    errors: field ? [{ path: field, message: "outside our service area" }] : undefined,
  });
}

/** The column is validated on write; a malformed value is our bug, so it fails loudly (500). */
export function parsePaymentMethods(cityId: string, json: string): PaymentMethod[] {
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
