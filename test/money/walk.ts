import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createServiceContext } from "../../src/composition";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import { runReconcile } from "../../src/services/reconcile/run";
import { getSettlementConfig } from "../../src/services/settlements/config";
import { cardPassenger } from "../fee-helpers";
import { unique } from "../helpers";
import { insertUser } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";
import { MoneyModel } from "./concurrent-model";
import { deliver, type Notification } from "./efi-notifications";
import { type Prng, prng } from "./prng";

// The state of one seed's concurrent money walk (test/money/randomized-concurrent.test.ts) and
// how its waves are planned: every random choice is made when a wave is planned, and operations
// that must not run in the same wave claim the same key.

export const PAYOUT_FEE_CENTS = 50;
export const MIN_PAYOUT_CENTS = 200;
/** The sandbox pays sends up to R$ 10,00, rejects R$ 10,01–20,00 later, refuses more at once. */
export const SANDBOX_PAYS_UP_TO = 1000;
export const SANDBOX_ACCEPTS_UP_TO = 2000;
/** Sends of these amounts make the sandbox return part of them by itself; the walk avoids them. */
export const SELF_RETURNING = new Set([400, 500]);
export const PAYOUT_KEY = "efipay@sejaefi.com.br";
/** The reconciler runs as if this far ahead, past every threshold of its steps. */
export const RECONCILE_AHEAD_MS = 30 * 60_000;
const DRIVERS = 4;

/** What becomes of a notification: delivered now, two copies at once, in a later wave, or never. */
export type Fate = "now" | "twice" | "late" | "lost";

/** What an operation of a wave touches: an exclusive claim excludes any other claim of its key. */
export interface Claim {
  key: string;
  exclusive: boolean;
}

export interface PlannedOp {
  name: string;
  claims: Claim[];
  run: () => Promise<void>;
}

/** Notifications held back, delivered in a later wave (after others, or after the reconciler). */
export interface Held {
  notifications: Notification[];
  claims: Claim[];
  apply: () => void;
}

export interface Walk {
  seed: number;
  /**
   * The shape of the walk: each wave's size and kinds of operation and each operation's
   * structure (a race or not), drawn a fixed number of times whatever the state, so a seed always
   * makes the same kinds of operation even when which racer won changes what follows.
   */
  shape: Prng;
  /** Targets, amounts and webhook fates, which depend on the state the walk is in. */
  rng: Prng;
  ctx: ServiceContext;
  model: MoneyModel;
  drivers: string[];
  passenger: string;
  /** A passenger with a CPF and a card on file. */
  cardPassenger: string;
  /** The finance user who asks for refunds. */
  staff: string;
  held: Held[];
  /** Notifications delivered and processed, to deliver again (as Efí's retry would). */
  delivered: { notification: Notification; claims: Claim[] }[];
  stats: Record<string, number>;
  count(name: string): void;
  /** Delivers notifications per their fate; `apply` updates the model once they are processed. */
  settle(fate: Fate, notifications: Notification[], claims: Claim[], apply: () => void): Promise<void>;
}

export const cents = (amount: number) => (amount / 100).toFixed(2);

export function pickFate(rng: Prng, lostAllowed = true): Fate {
  return rng.weighted({ now: 4, twice: 2, late: 2, lost: lostAllowed ? 2 : 0 });
}

/** A payment's refunds and MEDs: one at a time per wave, and they touch its driver's balance. */
export const paymentClaims = (p: { id: string; driver: string }): Claim[] => [
  { key: `payment:${p.id}`, exclusive: true },
  { key: `available:${p.driver}`, exclusive: false },
];

export const payoutClaims = (id: string, driver: string): Claim[] => [
  { key: `payout:${id}`, exclusive: true },
  { key: `available:${driver}`, exclusive: false },
];

/** The candidates that fit together, in order; a null candidate (nothing to do) is skipped. */
export function plan(candidates: (PlannedOp | null)[]): PlannedOp[] {
  const taken = new Map<string, boolean>();
  const ops: PlannedOp[] = [];
  for (const op of candidates) {
    if (!op) continue;
    const fits = op.claims.every((c) => !taken.has(c.key) || (!c.exclusive && !taken.get(c.key)));
    if (!fits) continue;
    for (const c of op.claims) taken.set(c.key, (taken.get(c.key) ?? false) || c.exclusive);
    ops.push(op);
  }
  return ops;
}

async function insertStaff(): Promise<string> {
  const id = `usr_STAFF${unique().toUpperCase()}`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO users (id, role, status, name, email, phone, password_hash, created_at, updated_at) VALUES (?, 'finance', 'active', 'Finance', ?, '+5511900000000', 'x', ?, ?)",
  )
    .bind(id, `finance-${unique()}@example.com`, now, now)
    .run();
  return id;
}

/**
 * A seed's users, its model (the ledger as it stands, after the reconciler settled whatever an
 * earlier seed that failed midway left undecided) and some earnings already available to each
 * driver, so payouts race from the first wave.
 */
export async function startWalk(seed: number): Promise<Walk> {
  const rng = prng(seed);
  const base = createServiceContext(env);
  const ctx: ServiceContext = { ...base, payoutRail: new EfiPayoutRail(base.efi) };
  const config = await getSettlementConfig(ctx);
  expect(config).toMatchObject({ payoutFeeCents: PAYOUT_FEE_CENTS, minPayoutCents: MIN_PAYOUT_CENTS });
  const passenger = await insertUser("passenger");
  const { id: cardPayer } = await cardPassenger();
  const staff = await insertStaff();
  const drivers: string[] = [];
  for (let i = 0; i < DRIVERS; i++) {
    const driver = await insertUser("driver");
    await allowPayoutsTo(driver, PAYOUT_KEY);
    drivers.push(driver);
  }
  expect((await runReconcile(ctx, { now: new Date(Date.now() + RECONCILE_AHEAD_MS) })).failed).toEqual([]);
  const model = await MoneyModel.fromLedger();
  // Not through Pix clearing (as `fund` does): the ledger check holds what came into clearing on
  // a day to Efí's statement of that day, which lists no Pix for these earnings.
  for (const driver of drivers) {
    const earned = rng.int(1500, 4000);
    await post(ctx, {
      idempotencyKey: `test:fund:${unique()}`,
      kind: "test.fund",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: platformAccount("efi_balance"), amount: earned },
        { account: driverAccount(driver, "available"), amount: -earned },
      ],
    });
    model.move(platformAccount("efi_balance"), earned);
    model.move(driverAccount(driver, "available"), earned);
  }

  const walk: Walk = {
    seed,
    shape: prng(seed ^ 0x5eed),
    rng,
    ctx,
    model,
    drivers,
    passenger,
    cardPassenger: cardPayer,
    staff,
    held: [],
    delivered: [],
    stats: {},
    count(name) {
      walk.stats[name] = (walk.stats[name] ?? 0) + 1;
    },
    async settle(fate, notifications, claims, apply) {
      walk.count(`webhook_${fate}`);
      if (fate === "late") {
        walk.held.push({ notifications, claims, apply });
        return;
      }
      if (fate === "lost") return;
      for (const notification of notifications) {
        await deliver(notification, fate === "twice" ? 2 : 1);
        walk.delivered.push({ notification, claims });
      }
      apply();
    },
  };
  return walk;
}
