import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { CRONS, handleScheduled } from "../../src/cron/index";
import { EFI_SANDBOX_HOST } from "../efi-network";
import { postings } from "../efi-webhook-helpers";
import { randomCpf } from "../fee-helpers";
import { BASE, call, expectProblem, readReply, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { ridePaymentRow } from "../payment-helpers";
import { completeAtDropoff, onlineDriver, postRide, requestRide } from "../ride-helpers";

// Card charges decided after their reply: Efí's card notifications (a token read back from Efí)
// and the reconciler's lookups, both through the code the charge's reply goes through. Efí's
// card API is the in-process sandbox: a payment token ending in 1, 2 or 3 is refused.

const TRIP = { distance_m: 3000, duration_s: 600 };

async function completedCardRide(paymentToken: string) {
  const passenger: TestUser = await registerUser("passenger", { cpf: randomCpf() });
  const card = await call("POST", "/v1/payment-methods/cards", {
    token: passenger.accessToken,
    body: { payment_token: paymentToken, brand: "visa", last4: "4242" },
  });
  expect(card.status, card.text).toBe(201);
  const requested = await requestRide(passenger, { payment_method: "card" });
  expect(requested.status, requested.text).toBe(201);
  const rideId = requested.json.id as string;
  const driver = await onlineDriver();
  for (const step of ["accept", "arrive", "start"]) {
    const reply = await postRide(driver.accessToken, rideId, step);
    expect(reply.status, reply.text).toBe(200);
  }
  const done = await completeAtDropoff(driver, rideId, TRIP);
  expect(done.status, done.text).toBe(200);
  return { passenger, rideId };
}

/**
 * Breaks the network to Efí's card API while `fn` runs: the one-step charge reaches Efí and its
 * reply is lost (or rewritten by `rewrite`), and every read of a notification fails, so only the
 * reconciler can learn the outcome. Other calls (charge reads by the reconciler) pass, through
 * `readRewrite` when given.
 */
async function withCardNetwork<T>(
  options: { loseReply?: boolean; rewrite?: (body: any) => void; readRewrite?: (body: any) => void },
  fn: () => Promise<T>,
): Promise<{ result: T; mend: () => void }> {
  const previous = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.host !== EFI_SANDBOX_HOST) return previous(request);
    if (url.pathname.startsWith("/v1/notification/")) throw new TypeError("fetch failed: notification lost");
    const response = await previous(request);
    if (url.pathname === "/v1/charge/one-step") {
      if (options.loseReply) throw new TypeError("fetch failed: connection reset by peer");
      if (options.rewrite) return rewritten(response, options.rewrite);
    }
    if (options.readRewrite && request.method === "GET" && /^\/v1\/charges?\b/.test(url.pathname)) {
      return rewritten(response, options.readRewrite);
    }
    return response;
  }) as typeof fetch;
  const result = await fn();
  return { result, mend: () => (globalThis.fetch = previous) };
}

async function rewritten(response: Response, change: (body: any) => void) {
  const body = await response.json();
  change(body);
  return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
}

async function reconcileCron() {
  await handleScheduled(
    { cron: CRONS.reconcile, scheduledTime: Date.now() + 30 * 60_000, noRetry() {} } as ScheduledController,
    env,
    createExecutionContext(),
  );
}

async function waitPayment(rideId: string, check: (row: Record<string, any>) => boolean) {
  return vi.waitFor(
    async () => {
      const row = await ridePaymentRow(rideId);
      if (!row || !check(row)) throw new Error(`payment not there yet: ${JSON.stringify(row)}`);
      return row;
    },
    { timeout: 5000 },
  );
}

describe("a card charge whose reply was lost (outcome_unknown)", () => {
  it("approved at Efí: the reconciler finds it by custom_id and records it once", async () => {
    const { result: ride, mend } = await withCardNetwork({ loseReply: true }, () =>
      completedCardRide(`tok${unique()}x0`),
    );
    try {
      const pending = await waitPayment(ride.rideId, (r) => r.failure_reason === "outcome_unknown");
      expect(pending).toMatchObject({ status: "pending", card_charge_id: null });
      // Never charged again while unknown.
      const retry = await call("POST", `/v1/rides/${ride.rideId}/payment/retry`, {
        token: ride.passenger.accessToken,
        body: {},
        headers: { "idempotency-key": unique() },
      });
      expectProblem(retry, 409, "payment_not_retryable");
    } finally {
      mend();
    }
    await reconcileCron();
    const paid = await ridePaymentRow(ride.rideId);
    expect(paid).toMatchObject({ status: "paid", failure_reason: null });
    expect(paid?.card_charge_id).toMatch(/^\d+$/);
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
    const charges = await env.EFI_SANDBOX_DB.prepare(
      "SELECT COUNT(*) AS n FROM card_charges WHERE custom_id = ?",
    )
      .bind(`${paid?.id}:1`)
      .first<number>("n");
    expect(charges).toBe(1);

    await reconcileCron();
    expect(await ridePaymentRow(ride.rideId)).toEqual(paid);
    await expectLedgerConsistent();
  });

  it("refused at Efí: the reconciler fails it, nothing posted, and the passenger may retry", async () => {
    const { result: ride, mend } = await withCardNetwork({ loseReply: true }, () =>
      completedCardRide(`tok${unique()}x2`),
    );
    mend();
    await waitPayment(ride.rideId, (r) => r.failure_reason === "outcome_unknown");
    await reconcileCron();
    const failed = await ridePaymentRow(ride.rideId);
    expect(failed).toMatchObject({ status: "failed", ledger_transaction_id: null });
    expect(failed?.failure_reason).toContain("segurança");
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(0);
    const retry = await call("POST", `/v1/rides/${ride.rideId}/payment/retry`, {
      token: ride.passenger.accessToken,
      body: {},
      headers: { "idempotency-key": unique() },
    });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.json).toMatchObject({ status: "failed", attempt: 2 });
    await expectLedgerConsistent();
  });

  it("a total at Efí other than the amount is never confirmed", async () => {
    const { result: ride, mend } = await withCardNetwork(
      {
        loseReply: true,
        readRewrite: (body) => {
          for (const charge of Array.isArray(body.data) ? body.data : [body.data]) charge.total += 1;
        },
      },
      () => completedCardRide(`tok${unique()}x0`),
    );
    try {
      await waitPayment(ride.rideId, (r) => r.failure_reason === "outcome_unknown");
      await reconcileCron();
    } finally {
      mend();
    }
    const row = await ridePaymentRow(ride.rideId);
    expect(row?.status).toBe("pending");
    expect(row?.failure_reason).toContain("amount_mismatch");
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(0);
  });
});

describe("a 200 reply with a status we do not know", () => {
  it("is outcome_unknown, never a refusal: no retry can charge twice; Efí's record decides later", async () => {
    const { result: ride, mend } = await withCardNetwork(
      { rewrite: (body) => (body.data.status = "contested_review") },
      () => completedCardRide(`tok${unique()}x0`),
    );
    mend();
    const unknown = await waitPayment(ride.rideId, (r) => r.failure_reason === "outcome_unknown");
    expect(unknown.status).toBe("pending");
    const retry = await call("POST", `/v1/rides/${ride.rideId}/payment/retry`, {
      token: ride.passenger.accessToken,
      body: {},
      headers: { "idempotency-key": unique() },
    });
    expectProblem(retry, 409, "payment_not_retryable");
    await reconcileCron();
    expect(await ridePaymentRow(ride.rideId)).toMatchObject({ status: "paid" });
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
  });
});

describe("Efí's card notifications", () => {
  it("confirm a charge once, however often they come", async () => {
    const ride = await completedCardRide(`tok${unique()}x0`);
    const paid = await waitPayment(ride.rideId, (r) => r.status === "paid");
    const token = await env.EFI_SANDBOX_DB.prepare(
      "SELECT notification_token FROM card_charges WHERE charge_id = ?",
    )
      .bind(Number(paid.card_charge_id))
      .first<string>("notification_token");
    for (let i = 0; i < 3; i++) {
      const again = await postCardNotification(`notification=${token}`);
      expect(again.status, again.text).toBe(200);
      expect(again.json).toEqual({ status: "applied" });
    }
    expect(await ridePaymentRow(ride.rideId)).toEqual(paid);
    expect(await postings(`ride:${ride.rideId}:payment`)).toBe(1);
  });

  it("are only hints: a token Efí does not know changes nothing; no secret is 401; no token 400, before Efí is asked", async () => {
    const forged = await postCardNotification(`notification=${crypto.randomUUID()}`);
    expect(forged.status, forged.text).toBe(200);
    expect(forged.json).toEqual({ status: "ignored" });
    expectProblem(await postCardNotification("notification=x", "wrong"), 401, "webhook_unauthorized");
    expectProblem(await postCardNotification("other=1"), 400, "webhook_malformed");
    expectProblem(await postCardNotification("notification=../../v1/charge/1"), 400, "webhook_malformed");
  });
});

async function postCardNotification(body: string, hmac: string = env.EFI_WEBHOOK_HMAC_SECRET) {
  const response = await exports.default.fetch(
    new Request(`${BASE}/webhooks/efi/card?hmac=${encodeURIComponent(hmac)}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }),
  );
  return readReply(response);
}
