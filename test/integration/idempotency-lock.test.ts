import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import { payments } from "../../src/db/schema";
import type { AppEnv } from "../../src/http/env";
import { idempotent } from "../../src/http/idempotency";
import { newId } from "../../src/lib/ids";
import { recordRidePayment } from "../../src/services/ledger/ride-postings";
import { IDEMPOTENCY_LOCK_SECONDS, noteMoneyMoved } from "../../src/services/requests/idempotency";
import { EFI_SANDBOX_HOST, sandboxControl } from "../efi-network";
import { call, createStaff, expectProblem, readReply, unique } from "../helpers";
import { insertCompletedRide, insertUser } from "../money-helpers";

// The Idempotency-Key's claim must hold for as long as the first request runs, however slow its
// provider is, and a request that moved money must be replayed whatever it answered: running it
// again could move the money twice.

afterEach(() => {
  vi.useRealTimers();
});

/** A completed Pix ride whose payment Efí (the sandbox) received and we recorded as paid. */
async function paidPixPayment(amountCents: number) {
  const ctx = createServiceContext(env);
  const driverId = await insertUser("driver");
  const passengerId = await insertUser("passenger");
  const ride = await insertCompletedRide(ctx, {
    driverId,
    passengerId,
    fareCents: amountCents,
    method: "pix",
    completedAt: new Date(Date.now() - 60_000),
  });
  const txid = `lk${unique()}${"0".repeat(30)}`.slice(0, 32);
  await ctx.efi.createCharge({ txid, amountCents, expiresInSeconds: 3600 });
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
  expect(paid.status, paid.text).toBe(200);
  const e2eId = paid.json.e2eId as string;
  const now = new Date().toISOString();
  const paymentId = newId("pay");
  await ctx.db.insert(payments).values({
    id: paymentId,
    purpose: "ride",
    rideId: ride.id,
    payerId: passengerId,
    method: "pix",
    amountCents,
    endToEndId: e2eId,
    status: "paid",
    createdAt: now,
    updatedAt: now,
    paidAt: now,
  });
  await recordRidePayment(ctx, {
    rideId: ride.id,
    method: "pix",
    amountCents,
    provider: "efi",
    providerReference: e2eId,
    confirmedAt: new Date(),
  });
  return { paymentId, e2eId };
}

/** Holds every refund request to Efí until released: a slow provider. */
function holdEfiRefunds() {
  const previous = globalThis.fetch;
  let arrived = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.host === EFI_SANDBOX_HOST && request.method === "PUT" && url.pathname.includes("/devolucao/")) {
      arrived += 1;
      await gate;
    }
    return previous(request);
  }) as typeof fetch;
  return {
    arrived: () => arrived,
    release: () => {
      release();
      globalThis.fetch = previous;
    },
  };
}

async function efiRefundsOf(e2eId: string) {
  const state = await sandboxControl("GET", "/sandbox/state");
  const all = (state.json.refunds ?? []) as Array<Record<string, any>>;
  return all.filter((r) => (r.e2e_id ?? r.e2eId ?? r.endToEndId) === e2eId);
}

async function refundRows(paymentId: string) {
  const { results } = await env.DB.prepare("SELECT id FROM refunds WHERE payment_id = ?")
    .bind(paymentId)
    .all();
  return results;
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
};

describe("Idempotency-Key: the claim outlives a slow provider", { timeout: 30_000 }, () => {
  it("a retry 61 s into a refund still waiting on Efí is refused (409), and Efí refunds once", async () => {
    expect(IDEMPOTENCY_LOCK_SECONDS).toBeGreaterThan(61);
    const finance = await createStaff("finance");
    const payment = await paidPixPayment(1600);
    const key = unique();
    const refund = () =>
      call("POST", `/v1/admin/payments/${payment.paymentId}/refund`, {
        token: finance.accessToken,
        headers: { "idempotency-key": key },
        body: { amount_cents: 600 },
      });

    const efi = holdEfiRefunds();
    const first = refund();
    await until(() => efi.arrived() === 1);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    const retry = await refund();
    expectProblem(retry, 409, "idempotency_in_progress");
    expect(efi.arrived()).toBe(1);

    efi.release();
    const answered = await first;
    expect(answered.status, answered.text).toBe(202);
    const replay = await refund();
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json).toEqual(answered.json);

    expect(await refundRows(payment.paymentId)).toHaveLength(1);
    expect(await efiRefundsOf(payment.e2eId)).toHaveLength(1);
  });
});

/** A route behind `idempotent` whose handler runs `work` and counts its runs. */
function appWith(userId: string, work: (ctx: ReturnType<typeof createServiceContext>) => Response) {
  let runs = 0;
  const app = new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set("ctx", createServiceContext(env));
      c.set("user", { id: userId, role: "driver" } as AppEnv["Variables"]["user"]);
      await next();
    })
    .post("/pay", idempotent, (c) => {
      runs += 1;
      return work(c.get("ctx"));
    });
  const send = async (key: string) =>
    readReply(
      await app.request("/pay", {
        method: "POST",
        headers: { "idempotency-key": key, "content-type": "application/json" },
        body: JSON.stringify({ amount_cents: 500 }),
      }),
    );
  return { send, runs: () => runs };
}

describe("Idempotency-Key: a reply after money moved is kept, whatever its status", () => {
  it("a 502 after money moved is replayed, not run again", async () => {
    const route = appWith(`usr_${unique()}`, (ctx) => {
      noteMoneyMoved(ctx);
      return Response.json({ code: "payment_provider_unavailable" }, { status: 502 });
    });
    const key = unique();
    const first = await route.send(key);
    expect(first.status).toBe(502);
    const again = await route.send(key);
    expect(again.status).toBe(502);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json).toEqual(first.json);
    expect(route.runs()).toBe(1);
  });

  it("a 502 that moved nothing frees the key: the retry runs again", async () => {
    const route = appWith(`usr_${unique()}`, () =>
      Response.json({ code: "payment_provider_unavailable" }, { status: 502 }),
    );
    const key = unique();
    expect((await route.send(key)).status).toBe(502);
    const again = await route.send(key);
    expect(again.status).toBe(502);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(route.runs()).toBe(2);
  });
});
