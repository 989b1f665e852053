import { type SQL, sql } from "drizzle-orm";
import type { ServiceContext } from "../context";
import { accountId, driverAccount } from "../ledger/accounts";

/**
 * The credit floor of a ride in a city, as a SQL scalar: the stricter (higher, nearer zero) of the
 * global `settlement_config` floor and the city's own `cities.credit_floor_cents`. A city can only
 * tighten it, even if the global floor is made stricter than the city's later. The driver's ledger
 * account keeps the global floor: it is one account whatever city a ride is in, so the city's is a
 * gate on being offered and accepting rides there, not a floor the ledger enforces.
 */
export function creditFloorSql(cityId: string): SQL {
  return sql`(SELECT MAX(s.credit_floor_cents, COALESCE(c.credit_floor_cents, s.credit_floor_cents))
    FROM settlement_config s LEFT JOIN cities c ON c.id = ${cityId} WHERE s.id = 1)`;
}

/** The driver's prepaid credit (an account not yet opened is 0) against the floor of a city. */
export async function creditStandingIn(ctx: ServiceContext, driverId: string, cityId: string) {
  const row = await ctx.db.get<{ credit: number | null; floor: number | null }>(
    sql`SELECT (SELECT balance FROM ledger_accounts WHERE id = ${accountId(driverAccount(driverId, "credit"))}) AS credit,
               ${creditFloorSql(cityId)} AS floor`,
  );
  if (row?.floor === null || row?.floor === undefined) {
    throw new Error("settlement_config row 1 is missing (migrations not applied?)");
  }
  const creditCents = row.credit ?? 0;
  return { creditCents, floorCents: row.floor, mayAcceptRides: creditCents >= row.floor };
}
