import { env } from "cloudflare:workers";
import { createServiceContext } from "../src/composition";
import { encryptText, hmacSha256Hex } from "../src/lib/crypto";
import { parsePixKey } from "../src/lib/pix-keys";
import type { ServiceContext } from "../src/services/context";
import { registerPayoutKey } from "../src/services/payouts/keys";
import { getSettlementConfig } from "../src/services/settlements/config";
import { randomCpf } from "./fee-helpers";
import { unique } from "./helpers";

/**
 * Lets a driver pay out to `pixKey` at once, for tests about what a payout does rather than whom
 * it may go to (test/integration/payout-keys.test.ts covers that): a CPF on file if the driver
 * has none, and the key registered with its cool-down already over. Written straight into D1,
 * since registering through the API checks ownership and starts the cool-down. A key that does
 * not parse is left alone, so the payout answers `invalid_pix_key` as before.
 */
export async function allowPayoutsTo(driverId: string, pixKey: unknown): Promise<void> {
  if (typeof pixKey !== "string") return;
  let normalized: ReturnType<typeof parsePixKey>;
  try {
    normalized = parsePixKey(pixKey);
  } catch {
    return;
  }
  const config = createServiceContext(env).config;
  const cpf = randomCpf();
  const past = new Date(Date.now() - 1000).toISOString();
  await env.DB.batch([
    env.DB.prepare(
      "UPDATE users SET cpf_ciphertext = ?, cpf_hash = ? WHERE id = ? AND cpf_ciphertext IS NULL",
    ).bind(
      await encryptText(config.CPF_ENCRYPTION_KEY, cpf),
      await hmacSha256Hex(config.CPF_HASH_KEY, cpf),
      driverId,
    ),
    env.DB.prepare(
      "INSERT INTO payout_keys (id, driver_id, pix_key, pix_key_type, usable_from, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    ).bind(`pkey_T${unique().toUpperCase()}`, driverId, normalized.normalized, normalized.type, past, past),
  ]);
}

/**
 * Registers `pixKey` for the driver through the service, as `POST /v1/payouts/keys` would have
 * done one cool-down before `ctx.now()`, so the key is usable now: ownership is checked and the
 * cool-down computed by the service itself. A driver with no CPF on file first gets one, as if
 * given at registration.
 */
export async function registerKeyCooledDown(ctx: ServiceContext, driverId: string, pixKey: string) {
  const cpf = randomCpf();
  await env.DB.prepare(
    "UPDATE users SET cpf_ciphertext = ?, cpf_hash = ? WHERE id = ? AND cpf_ciphertext IS NULL",
  )
    .bind(
      await encryptText(ctx.config.CPF_ENCRYPTION_KEY, cpf),
      await hmacSha256Hex(ctx.config.CPF_HASH_KEY, cpf),
      driverId,
    )
    .run();
  const { payoutKeyCooldownSeconds } = await getSettlementConfig(ctx);
  const then = new Date(ctx.now().getTime() - payoutKeyCooldownSeconds * 1000);
  return registerPayoutKey({ ...ctx, now: () => then }, driverId, pixKey);
}
