import { asc, eq, gt } from "drizzle-orm";
import { z } from "zod";
import { cities, type PaymentMethod } from "../../db/schema";
import { isUniqueViolation } from "../../lib/db-errors";
import type { PageQuery } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { ApiError } from "../../lib/problem";
import { auditStatement } from "../audit/statement";
import type { ServiceContext } from "../context";
import { getSettlementConfig } from "../settlements/config";
import { parsePaymentMethods } from "./cities";
import { boundingBoxOf, parseRing, type Ring, ringProblem } from "./service-area";
import { invalidField } from "./versions";

type CityRow = typeof cities.$inferSelect;

export interface CityInput {
  id: string;
  name: string;
  timezone: string;
  currency: "BRL";
  payment_methods: PaymentMethod[];
  categories: string[];
  service_area: Ring;
  active: boolean;
  /** Centavos, at or below zero; null: the global floor. Only a stricter one than it is taken. */
  credit_floor_cents?: number | null;
}

export type CityChange = Partial<Omit<CityInput, "id" | "currency">>;

const Categories = z.array(z.string());

export function cityView(row: CityRow) {
  return {
    id: row.id,
    name: row.name,
    timezone: row.timezone,
    currency: row.currency,
    payment_methods: parsePaymentMethods(row.id, row.paymentMethods),
    categories: Categories.parse(JSON.parse(row.categories)),
    service_area: parseRing(row.id, row.serviceArea),
    bounding_box: { min_lat: row.minLat, max_lat: row.maxLat, min_lng: row.minLng, max_lng: row.maxLng },
    active: row.active,
    credit_floor_cents: row.creditFloorCents,
    updated_at: row.updatedAt,
  };
}

export type CityView = ReturnType<typeof cityView>;

/** True when the runtime knows the IANA time zone name (e.g. `America/Sao_Paulo`). */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(name) && name !== "UTC") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function checkTimeZone(name: string | undefined): void {
  if (name !== undefined && !isTimeZone(name))
    throw invalidField("timezone", "is not an IANA time zone name");
}

/**
 * A city's credit floor may only be stricter (higher, nearer zero) than the global one: a city
 * cannot let its drivers run a deeper debt than the platform allows. Checked against the global
 * floor of now; if the global floor is later made stricter than a city's, the city's stops
 * mattering, since a ride's floor is always the higher of the two (`creditFloorSql`).
 */
async function checkCreditFloor(ctx: ServiceContext, floor: number | null | undefined): Promise<void> {
  if (floor === null || floor === undefined) return;
  const global = (await getSettlementConfig(ctx)).creditFloorCents;
  if (floor < global) {
    throw invalidField(
      "credit_floor_cents",
      `must not be below the global credit floor (${global}); a city's floor can only be stricter`,
    );
  }
}

function areaColumns(ring: Ring) {
  const problem = ringProblem(ring);
  if (problem) throw invalidField("service_area", problem);
  return { serviceArea: JSON.stringify(ring), ...boundingBoxOf(ring) };
}

/** Cities by id; the cursor is the last id seen. */
export async function listCities(ctx: ServiceContext, page: PageQuery) {
  const rows = await ctx.db
    .select()
    .from(cities)
    .where(page.cursor ? gt(cities.id, page.cursor) : undefined)
    .orderBy(asc(cities.id))
    .limit(page.limit + 1)
    .all();
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(cityView), next_cursor };
}

async function cityRow(ctx: ServiceContext, id: string): Promise<CityRow> {
  const row = await ctx.db.select().from(cities).where(eq(cities.id, id)).get();
  if (!row) throw new ApiError("not_found", "No such city");
  return row;
}

export async function getCity(ctx: ServiceContext, id: string): Promise<CityView> {
  return cityView(await cityRow(ctx, id));
}

/** A new service area. Its prices are separate calls: a pricing and a commission version per category. */
export async function createCity(
  ctx: ServiceContext,
  actorId: string,
  input: CityInput,
  reason: string,
): Promise<CityView> {
  checkTimeZone(input.timezone);
  await checkCreditFloor(ctx, input.credit_floor_cents);
  const row: CityRow = {
    id: input.id,
    name: input.name,
    timezone: input.timezone,
    currency: input.currency,
    paymentMethods: JSON.stringify([...new Set(input.payment_methods)]),
    categories: JSON.stringify([...new Set(input.categories)]),
    active: input.active,
    creditFloorCents: input.credit_floor_cents ?? null,
    updatedAt: ctx.now().toISOString(),
    ...areaColumns(input.service_area),
  };
  const after = cityView(row);
  try {
    await ctx.db.batch([
      ctx.db.insert(cities).values(row),
      auditStatement(ctx, {
        actorId,
        action: "city.create",
        targetType: "city",
        targetId: row.id,
        after,
        reason,
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error, "cities.id")) {
      throw new ApiError("city_exists", `The city ${row.id} already exists`, {
        errors: [{ path: "id", message: "already taken" }],
      });
    }
    throw error;
  }
  return after;
}

/**
 * Changes what is given and keeps the rest. A category cannot be dropped: versions of it may be
 * in force and quotes may name them, and a city stops being served by `active: false`.
 */
export async function updateCity(
  ctx: ServiceContext,
  actorId: string,
  id: string,
  change: CityChange,
  reason: string,
): Promise<CityView> {
  const before = await cityRow(ctx, id);
  checkTimeZone(change.timezone);
  await checkCreditFloor(ctx, change.credit_floor_cents);
  const beforeView = cityView(before);
  if (change.categories) {
    const dropped = beforeView.categories.filter((c) => !change.categories?.includes(c));
    if (dropped.length > 0) throw invalidField("categories", `cannot drop ${dropped.join(", ")}`);
  }
  const row: CityRow = {
    ...before,
    name: change.name ?? before.name,
    timezone: change.timezone ?? before.timezone,
    paymentMethods: change.payment_methods
      ? JSON.stringify([...new Set(change.payment_methods)])
      : before.paymentMethods,
    categories: change.categories ? JSON.stringify([...new Set(change.categories)]) : before.categories,
    active: change.active ?? before.active,
    // null clears the city's floor; left out keeps it.
    creditFloorCents:
      change.credit_floor_cents === undefined ? before.creditFloorCents : change.credit_floor_cents,
    updatedAt: ctx.now().toISOString(),
    ...(change.service_area ? areaColumns(change.service_area) : {}),
  };
  const after = cityView(row);
  const { id: _id, ...columns } = row;
  await ctx.db.batch([
    ctx.db.update(cities).set(columns).where(eq(cities.id, id)),
    auditStatement(ctx, {
      actorId,
      action: "city.update",
      targetType: "city",
      targetId: id,
      before: beforeView,
      after,
      reason,
    }),
  ]);
  return after;
}
