import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { efiWebhookUrl } from "../../src/integrations/efi";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { post } from "../../src/services/ledger/post";
import { requestPayout } from "../../src/services/payouts/request";
import { sandboxControl } from "../efi-network";
import { randomCpf } from "../fee-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent, fund } from "../money-helpers";

// A taken-over driver account must not be emptied in one call: payouts go only to the driver's
// own registered keys, after a cool-down, within a daily limit. Everything through the API.

const ctx = () => createServiceContext(env);
const available = (driverId: string) => balanceOf(ctx(), driverAccount(driverId, "available"));

async function driverWithCpf(cents = 0): Promise<TestUser & { cpf: string }> {
  const cpf = randomCpf();
  const driver = await registerUser("driver", { cpf });
  if (cents > 0) await fund(cents, driver.id);
  return { ...driver, cpf };
}

const registerKey = (driver: TestUser, pixKey: string) =>
  call("POST", "/v1/payouts/keys", { token: driver.accessToken, body: { pix_key: pixKey } });

const payout = (driver: TestUser, amount: number, pixKey: string) =>
  call("POST", "/v1/payouts", {
    token: driver.accessToken,
    headers: { "idempotency-key": unique() },
    body: { amount_cents: amount, pix_key: pixKey },
  });

/** Time passing for one key: its cool-down ends now. */
async function coolDownOver(keyId: string) {
  await env.DB.prepare("UPDATE payout_keys SET usable_from = ? WHERE id = ?")
    .bind(new Date(Date.now() - 1000).toISOString(), keyId)
    .run();
}

async function readyKey(driver: TestUser, pixKey: string): Promise<string> {
  const reply = await registerKey(driver, pixKey);
  expect(reply.status, reply.text).toBe(201);
  await coolDownOver(reply.json.id);
  return reply.json.id;
}

async function setDailyLimit(cents: number) {
  await env.DB.prepare("UPDATE settlement_config SET payout_daily_limit_cents = ? WHERE id = 1")
    .bind(cents)
    .run();
}

afterEach(async () => {
  await setDailyLimit(500_000);
  await expectLedgerConsistent();
});

describe("payout keys", () => {
  it("a driver without a CPF can neither register a key nor pay out", async () => {
    const driver = await registerUser("driver");
    await fund(5000, driver.id);
    expectProblem(await registerKey(driver, "me@pix.test"), 409, "payout_cpf_required");
    expectProblem(await payout(driver, 2000, "me@pix.test"), 409, "payout_cpf_required");
    expect(await available(driver.id)).toBe(5000);
  });

  it("another person's CPF or a company's CNPJ is refused; the driver's own CPF is registered once", async () => {
    const driver = await driverWithCpf();
    expectProblem(await registerKey(driver, randomCpf()), 422, "payout_key_not_owned");
    expectProblem(await registerKey(driver, "11.222.333/0001-81"), 422, "payout_key_not_owned");
    expectProblem(await registerKey(driver, "not a key"), 422, "invalid_pix_key");
    const before = Date.now();
    const first = await registerKey(
      driver,
      `${driver.cpf.slice(0, 3)}.${driver.cpf.slice(3, 6)}.${driver.cpf.slice(6, 9)}-${driver.cpf.slice(9)}`,
    );
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({ pix_key: driver.cpf, pix_key_type: "cpf" });
    // The configured cool-down (24 h by default) before the first payout.
    const wait = Date.parse(first.json.usable_from) - before;
    expect(wait).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 5000);
    expect(wait).toBeLessThanOrEqual(24 * 3600 * 1000 + 5000);
    const again = await registerKey(driver, driver.cpf);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const list = await call("GET", "/v1/payouts/keys", { token: driver.accessToken });
    expect(list.json.items).toEqual([first.json]);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM payout_keys WHERE driver_id = ?")
      .bind(driver.id)
      .first("n");
    expect(rows).toBe(1);
  });

  it("a key is removed only by its driver; a removed key receives nothing", async () => {
    const driver = await driverWithCpf(5000);
    const other = await driverWithCpf();
    const keyId = await readyKey(driver, "mine@pix.test");
    expectProblem(
      await call("DELETE", `/v1/payouts/keys/${keyId}`, { token: other.accessToken }),
      404,
      "not_found",
    );
    const removed = await call("DELETE", `/v1/payouts/keys/${keyId}`, { token: driver.accessToken });
    expect(removed.status).toBe(204);
    expect((await call("GET", "/v1/payouts/keys", { token: driver.accessToken })).json.items).toEqual([]);
    expectProblem(await payout(driver, 2000, "mine@pix.test"), 422, "payout_key_not_registered");
    expect(await available(driver.id)).toBe(5000);
  });
});

describe("POST /v1/payouts to registered keys only", () => {
  it("a payout to someone else's key is refused and moves nothing", async () => {
    const driver = await driverWithCpf(5000);
    const thief = await driverWithCpf();
    await readyKey(thief, "thief@pix.test");
    expectProblem(await payout(driver, 4000, "thief@pix.test"), 422, "payout_key_not_registered");
    expectProblem(await payout(driver, 4000, thief.cpf), 422, "payout_key_not_registered");
    expect(await available(driver.id)).toBe(5000);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM payouts WHERE driver_id = ?")
      .bind(driver.id)
      .first("n");
    expect(rows).toBe(0);
  });

  it("during the cool-down: 409 with retry_after; after it, the payout goes", async () => {
    const driver = await driverWithCpf(5000);
    const registered = await registerKey(driver, "+55 11 98765-4321");
    expect(registered.status).toBe(201);
    const refused = await payout(driver, 3000, "+5511987654321");
    expectProblem(refused, 409, "payout_key_cooling_down");
    expect(refused.json.retry_after).toBeGreaterThan(24 * 3600 - 60);
    expect(refused.json.retry_after).toBeLessThanOrEqual(24 * 3600);
    expect(Number(refused.headers.get("retry-after"))).toBe(refused.json.retry_after);
    expect(await available(driver.id)).toBe(5000);

    await coolDownOver(registered.json.id);
    const paid = await payout(driver, 3000, "+5511987654321");
    expect(paid.status, paid.text).toBe(202);
    expect(paid.json).toMatchObject({ status: "paid", amount_cents: 3000, pix_key_type: "phone" });
    expect(await available(driver.id)).toBe(2000);
  });

  it("over the daily limit: refused, nothing moves; what is left of the limit still goes", async () => {
    await setDailyLimit(6000);
    const driver = await driverWithCpf(20_000);
    await readyKey(driver, "limit@pix.test");
    expect((await payout(driver, 5000, "limit@pix.test")).status).toBe(202);
    const over = await payout(driver, 2000, "limit@pix.test");
    expectProblem(over, 409, "payout_daily_limit");
    expect(over.json.detail).toContain("1000 left today");
    expect(await available(driver.id)).toBe(15_000);
    expect((await payout(driver, 1000, "limit@pix.test")).status).toBe(202);
    expect(await available(driver.id)).toBe(14_000);
  });

  it("concurrent payouts cannot pass the daily limit together", async () => {
    await setDailyLimit(6000);
    const driver = await driverWithCpf(50_000);
    await readyKey(driver, "race@pix.test");
    const replies = await Promise.all(Array.from({ length: 8 }, () => payout(driver, 2000, "race@pix.test")));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(3);
    for (const reply of replies.filter((r) => r.status !== 202)) {
      expectProblem(reply, 409, "payout_daily_limit");
    }
    expect(await available(driver.id)).toBe(50_000 - 6000);
  });

  it("a driver in debt cannot pay out: the balance covers nothing", async () => {
    const driver = await driverWithCpf();
    await readyKey(driver, "debt@pix.test");
    await post(ctx(), {
      idempotencyKey: `test:${unique()}`,
      kind: "ride.clawback",
      reference: { type: "test", id: driver.id },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(driver.id, "available"), amount: 3000 },
        { account: platformAccount("efi_balance"), amount: -3000 },
      ],
    });
    await fund(2000, driver.id);
    expect(await available(driver.id)).toBe(-1000);
    expectProblem(await payout(driver, 1000, "debt@pix.test"), 409, "insufficient_funds");
    expect(await available(driver.id)).toBe(-1000);
  });
});

describe("Efí checks that the key belongs to the driver's CPF", () => {
  beforeAll(async () => {
    await createServiceContext(env).efi.registerWebhook(
      efiWebhookUrl("https://api.test", env.EFI_WEBHOOK_HMAC_SECRET),
    );
  });

  it("a key Efí knows as someone else's: the send is refused and the money comes back", async () => {
    const driver = await driverWithCpf(5000);
    const key = `${unique()}@pix.test`;
    await readyKey(driver, key);
    const owner = await sandboxControl("PUT", `/sandbox/pix-keys/${encodeURIComponent(key)}/owner`, {
      cpf: randomCpf(),
    });
    expect(owner.status).toBe(200);
    const efi = { ...ctx(), payoutRail: new EfiPayoutRail(ctx().efi) };
    const refused = await requestPayout(efi, driver.id, { amountCents: 1000, pixKey: key });
    expect(refused).toMatchObject({
      status: "failed",
      failure_reason: "efi_chave_nao_pertence_ao_documento",
    });
    expect(await available(driver.id)).toBe(5000);

    // The same key, recorded as the driver's own: the send goes.
    await sandboxControl("PUT", `/sandbox/pix-keys/${encodeURIComponent(key)}/owner`, { cpf: driver.cpf });
    const sent = await requestPayout(efi, driver.id, { amountCents: 1000, pixKey: key });
    expect(sent.status).not.toBe("failed");
    expect(await available(driver.id)).toBe(4000);
  });
});

describe("requestPayout called directly (not through the route) checks the same", () => {
  const payoutsOf = async (driverId: string) =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM payouts WHERE driver_id = ?")
      .bind(driverId)
      .first<number>("n")) ?? 0;

  it("another driver's registered key is refused and nothing moves", async () => {
    const victim = await driverWithCpf(5000);
    const thief = await driverWithCpf();
    const thiefKey = `${unique()}@pix.test`;
    await readyKey(thief, thiefKey);
    const refused = await requestPayout(ctx(), victim.id, { amountCents: 1000, pixKey: thiefKey }).catch(
      (e) => e,
    );
    expect(refused).toMatchObject({ code: "payout_key_not_registered" });
    expect(await available(victim.id)).toBe(5000);
    expect(await payoutsOf(victim.id)).toBe(0);
  });

  it("a key still cooling down, one over the daily limit, and a driver with no CPF are refused too", async () => {
    const driver = await driverWithCpf(50_000);
    const key = `${unique()}@pix.test`;
    const registered = await registerKey(driver, key);
    expect(registered.status, registered.text).toBe(201);
    const cooling = await requestPayout(ctx(), driver.id, { amountCents: 1000, pixKey: key }).catch((e) => e);
    expect(cooling).toMatchObject({ code: "payout_key_cooling_down" });
    await coolDownOver(registered.json.id);
    await setDailyLimit(2000);
    const over = await requestPayout(ctx(), driver.id, { amountCents: 2001, pixKey: key }).catch((e) => e);
    expect(over).toMatchObject({ code: "payout_daily_limit" });
    expect(await payoutsOf(driver.id)).toBe(0);
    expect(await available(driver.id)).toBe(50_000);
    // Within the limit, to the driver's own key: it goes.
    const sent = await requestPayout(ctx(), driver.id, { amountCents: 2000, pixKey: key });
    expect(sent.status).not.toBe("failed");
    expect(await available(driver.id)).toBe(48_000);

    const noCpf = await fund(5000);
    const refused = await requestPayout(ctx(), noCpf, { amountCents: 1000, pixKey: key }).catch((e) => e);
    expect(refused).toMatchObject({ code: "payout_cpf_required" });
    expect(await available(noCpf)).toBe(5000);
  });
});

describe("payout safety settings", () => {
  it("are shown, changed (audited), validated; left out, they keep their value", async () => {
    const admin = await createStaff("admin");
    const read = await call("GET", "/v1/admin/settlement-config", { token: admin.accessToken });
    expect(read.json).toMatchObject({ payout_key_cooldown_seconds: 86400, payout_daily_limit_cents: 500000 });
    const { updated_at: _, ...current } = read.json;
    const changed = await call("PUT", "/v1/admin/settlement-config", {
      token: admin.accessToken,
      body: { ...current, payout_key_cooldown_seconds: 3600, payout_daily_limit_cents: 100000 },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({
      payout_key_cooldown_seconds: 3600,
      payout_daily_limit_cents: 100000,
    });
    const audit = await env.DB.prepare(
      "SELECT after FROM audit_logs WHERE action = 'settlement_config.update' ORDER BY id DESC LIMIT 1",
    ).first<string>("after");
    expect(JSON.parse(audit ?? "{}")).toMatchObject({ payout_key_cooldown_seconds: 3600 });
    const { payout_key_cooldown_seconds: _c, payout_daily_limit_cents: _l, ...withoutSafety } = current;
    const kept = await call("PUT", "/v1/admin/settlement-config", {
      token: admin.accessToken,
      body: withoutSafety,
    });
    expect(kept.json).toMatchObject({ payout_key_cooldown_seconds: 3600, payout_daily_limit_cents: 100000 });
    for (const bad of [{ payout_key_cooldown_seconds: -1 }, { payout_daily_limit_cents: 0 }]) {
      const reply = await call("PUT", "/v1/admin/settlement-config", {
        token: admin.accessToken,
        body: { ...current, ...bad },
      });
      expectProblem(reply, 400, "validation_failed");
    }
    // A new driver's key now waits one hour.
    const driver = await driverWithCpf();
    const key = await registerKey(driver, "hour@pix.test");
    const wait = Date.parse(key.json.usable_from) - Date.parse(key.json.created_at);
    expect(wait).toBe(3600 * 1000);
    await call("PUT", "/v1/admin/settlement-config", { token: admin.accessToken, body: current });
  });
});
