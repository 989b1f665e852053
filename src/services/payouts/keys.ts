import { and, desc, eq, isNull } from "drizzle-orm";
import { payoutKeys, users } from "../../db/schema";
import { hmacSha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { type PixKeyType, parsePixKey } from "../../lib/pix-keys";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { getSettlementConfig } from "../settlements/config";

export type PayoutKeyRow = typeof payoutKeys.$inferSelect;

export interface PayoutKeyView {
  id: string;
  pix_key: string;
  pix_key_type: PixKeyType;
  usable_from: string;
  created_at: string;
}

export function payoutKeyView(row: PayoutKeyRow): PayoutKeyView {
  return {
    id: row.id,
    pix_key: row.pixKey,
    pix_key_type: row.pixKeyType,
    usable_from: row.usableFrom,
    created_at: row.createdAt,
  };
}

/** A driver may keep this many keys at once. */
export const MAX_LIVE_KEYS = 5;

/**
 * Registers a Pix key for the driver's payouts. The driver must have a CPF on file: it is the
 * favoured person Efí checks every payout against (`favorecido.cpf`), so a key owned by anyone
 * else is refused at the send. What can be checked here is checked here: a CPF key must be the
 * driver's own CPF, and a CNPJ key, a company's, never is. A new key waits the configured
 * cool-down (`payout_key_cooldown_seconds`) before its first payout, so someone who took over an
 * account cannot add their own key and empty it at once. Registering a key already live returns
 * it unchanged (its cool-down is not restarted).
 */
export async function registerPayoutKey(
  ctx: ServiceContext,
  driverId: string,
  rawKey: string,
): Promise<{ key: PayoutKeyView; created: boolean }> {
  const key = parsePixKey(rawKey);
  const driver = await ownerCpfHash(ctx, driverId);
  if (key.type === "cnpj") {
    throw new ApiError("payout_key_not_owned", "A CNPJ key belongs to a company, not to your CPF");
  }
  if (key.type === "cpf" && (await hmacSha256Hex(ctx.config.CPF_HASH_KEY, key.normalized)) !== driver) {
    throw new ApiError("payout_key_not_owned", "This CPF key is not your CPF");
  }
  const live = await liveKeys(ctx, driverId);
  const existing = live.find((row) => row.pixKey === key.normalized);
  if (existing) return { key: payoutKeyView(existing), created: false };
  if (live.length >= MAX_LIVE_KEYS) {
    throw new ApiError("validation_failed", `At most ${MAX_LIVE_KEYS} Pix keys; remove one first`, {
      errors: [{ path: "pix_key", message: `at most ${MAX_LIVE_KEYS} keys` }],
    });
  }
  const config = await getSettlementConfig(ctx);
  const now = ctx.now();
  const row: PayoutKeyRow = {
    id: newId("pkey", now.getTime()),
    driverId,
    pixKey: key.normalized,
    pixKeyType: key.type,
    holderName: null,
    usableFrom: new Date(now.getTime() + config.payoutKeyCooldownSeconds * 1000).toISOString(),
    createdAt: now.toISOString(),
    removedAt: null,
  };
  // The partial unique index (driver, key) among live keys makes a racing twin a no-op.
  const inserted = await ctx.db.insert(payoutKeys).values(row).onConflictDoNothing().returning();
  if (inserted.length === 0) {
    const twin = (await liveKeys(ctx, driverId)).find((r) => r.pixKey === key.normalized);
    if (twin) return { key: payoutKeyView(twin), created: false };
  }
  return { key: payoutKeyView(row), created: true };
}

export async function listPayoutKeys(ctx: ServiceContext, driverId: string): Promise<PayoutKeyView[]> {
  return (await liveKeys(ctx, driverId)).map(payoutKeyView);
}

/** Removes one of the driver's keys; another driver's (or an unknown) key is 404. */
export async function removePayoutKey(ctx: ServiceContext, driverId: string, keyId: string): Promise<void> {
  const removed = await ctx.db
    .update(payoutKeys)
    .set({ removedAt: ctx.now().toISOString() })
    .where(and(eq(payoutKeys.id, keyId), eq(payoutKeys.driverId, driverId), isNull(payoutKeys.removedAt)))
    .returning({ id: payoutKeys.id });
  if (removed.length === 0) throw new ApiError("not_found", "No such Pix key");
}

/** The driver's live key with this (normalised) value, if any. */
export async function liveKeyOf(
  ctx: ServiceContext,
  driverId: string,
  normalizedKey: string,
): Promise<PayoutKeyRow | undefined> {
  return ctx.db
    .select()
    .from(payoutKeys)
    .where(
      and(
        eq(payoutKeys.driverId, driverId),
        eq(payoutKeys.pixKey, normalizedKey),
        isNull(payoutKeys.removedAt),
      ),
    )
    .get();
}

async function liveKeys(ctx: ServiceContext, driverId: string): Promise<PayoutKeyRow[]> {
  return ctx.db
    .select()
    .from(payoutKeys)
    .where(and(eq(payoutKeys.driverId, driverId), isNull(payoutKeys.removedAt)))
    .orderBy(desc(payoutKeys.id))
    .all();
}

/** The driver's CPF hash, or `payout_cpf_required` when there is none on file. */
export async function ownerCpfHash(ctx: ServiceContext, driverId: string): Promise<string> {
  const row = await ctx.db.select({ cpfHash: users.cpfHash }).from(users).where(eq(users.id, driverId)).get();
  if (!row?.cpfHash) {
    throw new ApiError("payout_cpf_required", "Add your CPF to your account before your first payout");
  }
  return row.cpfHash;
}
