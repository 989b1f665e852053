import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { payments } from "../../src/db/schema";
import type { CardProvider } from "../../src/integrations/card/provider";
import { EfiError } from "../../src/integrations/efi";
import { newId } from "../../src/lib/ids";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { recordCreditTopup, recordRidePayment } from "../../src/services/ledger/ride-postings";
import { efiRefundIdOf, refundIdOf } from "../../src/services/refunds/ids";
import { applyRefundOutcome } from "../../src/services/refunds/outcome";
import { reconcileRefund } from "../../src/services/refunds/reconcile";
import { requestRefund } from "../../src/services/refunds/request";
import { driverShareOf } from "../../src/services/refunds/shares";
import { paymentSummary } from "../../src/services/refunds/view";
import { sandboxControl } from "../efi-network";
import { call, createStaff, expectProblem, registerUser, unique } from "../helpers";
import { expectLedgerConsistent, insertCompletedRide, insertUser } from "../money-helpers";

// POST /v1/admin/payments/{id}/refund through the in-process Efí sandbox (test/efi-network.ts),
// which settles refunds inline: R$0.01 is rejected (NAO_REALIZADO), any other amount DEVOLVIDO.
// The ledger moves only when Efí's outcome is applied (`applyRefundOutcome`, which the payments
// queue calls for refund webhook items; here the tests apply what Efí reports when read back).

const ctx = (overrides: Partial<ServiceContext> = {}): ServiceContext => ({
  ...createServiceContext(env),
  ...overrides,
});

interface PaidPayment {
  paymentId: string;
  rideId: string | null;
  driverId: string;
  passengerId: string;
  e2eId: string;
  amountCents: number;
  driverCents: number;
  commissionCents: number;
}

/** A txid of our own for a sandbox cob that no payment row names. */
const freshTxid = () => `rt${unique()}${"0".repeat(30)}`.slice(0, 32);

/** A Pix really received at (the sandbox's) Efí for `amountCents`: its e2eId. */
async function receivedPix(amountCents: number): Promise<string> {
  const txid = freshTxid();
  await ctx().efi.createCharge({ txid, amountCents, expiresInSeconds: 3600 });
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
  expect(paid.status, paid.text).toBe(200);
  return paid.json.e2eId as string;
}

/**
 * A completed Pix ride whose payment is confirmed: Efí received the Pix (the sandbox cob, paid),
 * the payment row is paid with its e2eId, and the ride payment is posted (pending, revenue).
 */
async function paidPixRide(fareCents: number, category: "pop" | "comfort" = "pop"): Promise<PaidPayment> {
  const c = ctx();
  const driverId = await insertUser("driver");
  const passengerId = await insertUser("passenger");
  const ride = await insertCompletedRide(c, {
    driverId,
    passengerId,
    fareCents,
    method: "pix",
    category,
    completedAt: new Date(Date.now() - 60_000),
  });
  const e2eId = await receivedPix(fareCents);
  const paymentId = await insertPaidPayment({
    purpose: "ride",
    rideId: ride.id,
    payerId: passengerId,
    method: "pix",
    amountCents: fareCents,
    endToEndId: e2eId,
  });
  const posted = await recordRidePayment(c, {
    rideId: ride.id,
    method: "pix",
    amountCents: fareCents,
    provider: "efi",
    providerReference: e2eId,
    confirmedAt: new Date(),
  });
  await linkPosting(paymentId, posted.transactionId);
  return {
    paymentId,
    rideId: ride.id,
    driverId,
    passengerId,
    e2eId,
    amountCents: fareCents,
    driverCents: posted.driverCents,
    commissionCents: posted.commissionCents,
  };
}

async function insertPaidPayment(row: {
  purpose: "ride" | "credit_topup";
  rideId: string | null;
  payerId: string;
  method: "pix" | "card";
  amountCents: number;
  endToEndId?: string;
  cardChargeId?: string;
}): Promise<string> {
  const now = new Date().toISOString();
  const id = newId("pay");
  await ctx()
    .db.insert(payments)
    .values({
      id,
      ...row,
      status: "paid",
      endToEndId: row.endToEndId ?? null,
      cardChargeId: row.cardChargeId ?? null,
      createdAt: now,
      updatedAt: now,
      paidAt: now,
    });
  return id;
}

/** Links a payment to its posting, as confirming a payment does. */
async function linkPosting(paymentId: string, transactionId: string) {
  await env.DB.prepare("UPDATE payments SET ledger_transaction_id = ? WHERE id = ?")
    .bind(transactionId, paymentId)
    .run();
}

function refundCall(token: string, paymentId: string, body: unknown = {}, key: string = unique()) {
  return call("POST", `/v1/admin/payments/${paymentId}/refund`, {
    token,
    headers: { "idempotency-key": key },
    body,
  });
}

/** What Efí says of a refund now, applied as the webhook consumer would. */
async function confirmFromEfi(payment: PaidPayment, refundId: string) {
  const efi = await ctx().efi.getRefund(payment.e2eId, efiRefundIdOf(refundId));
  expect(efi.status).not.toBe("EM_PROCESSAMENTO");
  return applyRefundOutcome(ctx(), {
    endToEndId: payment.e2eId,
    refundId: efi.refundId,
    status: efi.status as "DEVOLVIDO" | "NAO_REALIZADO",
    reason: efi.reason,
  });
}

async function paymentRow(paymentId: string) {
  return env.DB.prepare("SELECT status, amount_cents, refunded_cents FROM payments WHERE id = ?")
    .bind(paymentId)
    .first<{ status: string; amount_cents: number; refunded_cents: number }>();
}

async function refundRows(paymentId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM refunds WHERE payment_id = ? ORDER BY id")
    .bind(paymentId)
    .all<Record<string, any>>();
  return results;
}

async function refundPosting(refundId: string) {
  const txn = await env.DB.prepare(
    "SELECT id, kind, reference_type, reference_id FROM ledger_transactions WHERE idempotency_key = ?",
  )
    .bind(`refund:${refundId}`)
    .first<{ id: string; kind: string; reference_type: string; reference_id: string }>();
  if (!txn) return null;
  const { results } = await env.DB.prepare(
    "SELECT account_id, amount, enforce_floor FROM ledger_entries WHERE transaction_id = ? ORDER BY id",
  )
    .bind(txn.id)
    .all<{ account_id: string; amount: number; enforce_floor: number }>();
  return { ...txn, entries: results };
}

async function refundPostingCount(): Promise<number> {
  return (
    (await env.DB.prepare(
      "SELECT count(*) AS n FROM ledger_transactions WHERE kind = 'payment.refund'",
    ).first<number>("n")) ?? 0
  );
}

/** The refunds Efí holds for a received Pix. */
async function efiRefunds(e2eId: string) {
  const state = await sandboxControl("GET", "/sandbox/state");
  const all = (state.json.refunds ?? []) as Array<Record<string, any>>;
  return all.filter((r) => (r.e2e_id ?? r.e2eId ?? r.endToEndId) === e2eId);
}

const balances = async (driverId: string) => ({
  available: await balanceOf(ctx(), driverAccount(driverId, "available")),
  pending: await balanceOf(ctx(), driverAccount(driverId, "pending")),
});

describe("POST /v1/admin/payments/{id}/refund: a full refund", () => {
  it("asks Efí for the refund, and only when Efí confirms moves the ledger and marks the payment refunded", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(2500); // pop: 20 % → commission 500, driver 2000
    expect([payment.driverCents, payment.commissionCents]).toEqual([2000, 500]);
    const revenueBefore = await balanceOf(ctx(), platformAccount("revenue"));
    const efiBalanceBefore = await balanceOf(ctx(), platformAccount("efi_balance"));

    const reply = await refundCall(finance.accessToken, payment.paymentId, { reason: "trip never happened" });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toEqual({
      refund: {
        id: expect.stringMatching(/^rfd_/),
        payment_id: payment.paymentId,
        status: "processing",
        amount_cents: 2500,
        provider_reference: expect.stringMatching(/^D[A-Za-z0-9]{31}$/),
        failure_reason: null,
        requested_by: finance.id,
        ledger_transaction_id: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
      payment: {
        id: payment.paymentId,
        status: "paid",
        method: "pix",
        amount_cents: 2500,
        refunded_cents: 0,
        refundable_cents: 0,
      },
    });
    const refundId: string = reply.json.refund.id;

    // Efí got one refund of the whole Pix, under our id without its underscore.
    const atEfi = await ctx().efi.getRefund(payment.e2eId, efiRefundIdOf(refundId));
    expect(atEfi).toMatchObject({
      refundId: efiRefundIdOf(refundId),
      amountCents: 2500,
      status: "DEVOLVIDO",
    });
    expect(refundIdOf(atEfi.refundId)).toBe(refundId);

    // Nothing moved yet: Efí's word has not been applied.
    expect(await refundPosting(refundId)).toBeNull();
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "paid", refunded_cents: 0 });

    // The refund webhook's outcome, as the payments queue applies it.
    const applied = await confirmFromEfi(payment, refundId);
    expect(applied).toMatchObject({ status: "applied", refund: { id: refundId, status: "refunded" } });

    const posting = await refundPosting(refundId);
    expect(posting).toMatchObject({
      kind: "payment.refund",
      reference_type: "ride",
      reference_id: payment.rideId,
    });
    expect(posting?.entries).toEqual([
      { account_id: "platform:platform:efi_balance", amount: -2500, enforce_floor: 1 },
      { account_id: `driver:${payment.driverId}:available`, amount: 2000, enforce_floor: 0 },
      { account_id: "platform:platform:revenue", amount: 500, enforce_floor: 1 },
    ]);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", refunded_cents: 2500 });
    const [row] = await refundRows(payment.paymentId);
    expect(row).toMatchObject({
      status: "refunded",
      ledger_transaction_id: posting?.id,
      provider_reference: atEfi.rtrId,
    });

    // The settlement is still scheduled: the share stays pending, and available goes into debt
    // until it is released (a clawback). Revenue gives back the commission; the money left Efí.
    expect(await balances(payment.driverId)).toEqual({ available: -2000, pending: 2000 });
    expect(await balanceOf(ctx(), platformAccount("revenue"))).toBe(revenueBefore - 500);
    expect(await balanceOf(ctx(), platformAccount("efi_balance"))).toBe(efiBalanceBefore - 2500);

    // Audited: who, what, the payment before, the refund asked for.
    const audit = await env.DB.prepare(
      "SELECT actor_id, action, target_type, before, after, request_id FROM audit_logs WHERE target_id = ?",
    )
      .bind(payment.paymentId)
      .first<Record<string, any>>();
    expect(audit).toMatchObject({ actor_id: finance.id, action: "payment.refund", target_type: "payment" });
    expect(JSON.parse(audit?.before)).toEqual({ status: "paid", amount_cents: 2500, refunded_cents: 0 });
    expect(JSON.parse(audit?.after)).toEqual({
      refund_id: refundId,
      amount_cents: 2500,
      reason: "trip never happened",
    });
    expect(audit?.request_id).toEqual(expect.any(String));

    // A replayed outcome changes nothing.
    const postings = await refundPostingCount();
    expect(await confirmFromEfi(payment, refundId)).toMatchObject({ status: "already_applied" });
    expect(await reconcileRefund(ctx(), refundId)).toMatchObject({ status: "already_applied" });
    expect(await refundPostingCount()).toBe(postings);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ refunded_cents: 2500 });

    // A refunded payment cannot be refunded again.
    expectProblem(
      await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 1 }),
      409,
      "payment_not_refundable",
    );
    await expectLedgerConsistent();
  });

  it("the driver's share comes back from available once the settlement was released", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(3000); // commission 600, driver 2400
    const released = await env.DB.prepare("SELECT id FROM settlements WHERE ride_id = ?")
      .bind(payment.rideId)
      .first<string>("id");
    const { releaseSettlement } = await import("../../src/services/settlements/release");
    expect(await releaseSettlement(ctx(), released ?? "", "2100-01-01")).toMatchObject({
      status: "released",
    });
    expect(await balances(payment.driverId)).toEqual({ available: 2400, pending: 0 });

    const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 1500 });
    expect(reply.status, reply.text).toBe(202);
    expect(await reconcileRefund(ctx(), reply.json.refund.id)).toMatchObject({ status: "applied" });
    // 1500 × 2400 / 3000 = 1200 from the driver, 300 from revenue.
    expect(await balances(payment.driverId)).toEqual({ available: 1200, pending: 0 });
    expect((await refundPosting(reply.json.refund.id))?.entries).toEqual([
      { account_id: "platform:platform:efi_balance", amount: -1500, enforce_floor: 1 },
      { account_id: `driver:${payment.driverId}:available`, amount: 1200, enforce_floor: 0 },
      { account_id: "platform:platform:revenue", amount: 300, enforce_floor: 1 },
    ]);
    expect(await paymentRow(payment.paymentId)).toMatchObject({
      status: "partially_refunded",
      refunded_cents: 1500,
    });
    await expectLedgerConsistent();
  });
});

describe("POST /v1/admin/payments/{id}/refund: partial refunds, never above what was paid", () => {
  it("two partial refunds, then a third above the rest is refused (422) and changes nothing; the rest is refunded exactly", async () => {
    const finance = await createStaff("finance");
    // comfort: 25 % of 2345 = 586.25 → 586; driver 1759.
    const payment = await paidPixRide(2345, "comfort");
    expect([payment.driverCents, payment.commissionCents]).toEqual([1759, 586]);

    const ids: string[] = [];
    for (const amount of [1000, 1000]) {
      const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: amount });
      expect(reply.status, reply.text).toBe(202);
      expect(reply.json.refund).toMatchObject({ status: "processing", amount_cents: amount });
      expect(await confirmFromEfi(payment, reply.json.refund.id)).toMatchObject({ status: "applied" });
      ids.push(reply.json.refund.id);
    }
    expect(await paymentRow(payment.paymentId)).toMatchObject({
      status: "partially_refunded",
      refunded_cents: 2000,
    });

    // 346 > 2345 − 2000: refused before Efí is asked; nothing written anywhere.
    const postings = await refundPostingCount();
    const efiBefore = await efiRefunds(payment.e2eId);
    const tooMuch = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 346 });
    expectProblem(tooMuch, 422, "refund_exceeds_paid");
    expect(tooMuch.json.errors).toEqual([{ path: "amount_cents", message: "must be between 1 and 345" }]);
    expect(await refundRows(payment.paymentId)).toHaveLength(2);
    expect(await paymentRow(payment.paymentId)).toMatchObject({
      status: "partially_refunded",
      refunded_cents: 2000,
    });
    expect(await refundPostingCount()).toBe(postings);
    expect(await efiRefunds(payment.e2eId)).toEqual(efiBefore);

    // No amount: everything left (345).
    const rest = await refundCall(finance.accessToken, payment.paymentId, {});
    expect(rest.status, rest.text).toBe(202);
    expect(rest.json.refund.amount_cents).toBe(345);
    expect(await confirmFromEfi(payment, rest.json.refund.id)).toMatchObject({ status: "applied" });
    ids.push(rest.json.refund.id);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", refunded_cents: 2345 });

    // Cumulative half-up rounding: 1000 → 750 (750.1), 2000 → 1500 (1500.2), 2345 → 1759.
    const driverParts: number[] = [];
    const revenueParts: number[] = [];
    for (const id of ids) {
      const entries = (await refundPosting(id))?.entries ?? [];
      driverParts.push(entries.find((e) => e.account_id.startsWith("driver:"))?.amount ?? 0);
      revenueParts.push(entries.find((e) => e.account_id.endsWith(":revenue"))?.amount ?? 0);
    }
    expect(driverParts).toEqual([750, 750, 259]);
    expect(revenueParts).toEqual([250, 250, 86]);
    // Together exactly the driver's share and the commission: the ride's money is all undone.
    expect(await balances(payment.driverId)).toEqual({ available: -1759, pending: 1759 });
    await expectLedgerConsistent();
  });

  it("a refund still processing holds its amount: the next may only take what is left beside it", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(2000);
    const first = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 1200 });
    expect(first.status, first.text).toBe(202);
    expect(first.json.payment).toMatchObject({ refunded_cents: 0, refundable_cents: 800 });

    const over = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 801 });
    expectProblem(over, 422, "refund_exceeds_paid");
    const fits = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 800 });
    expect(fits.status, fits.text).toBe(202);
    expectProblem(await refundCall(finance.accessToken, payment.paymentId, {}), 422, "refund_exceeds_paid");

    for (const id of [first.json.refund.id, fits.json.refund.id]) {
      expect(await reconcileRefund(ctx(), id)).toMatchObject({ status: "applied" });
    }
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", refunded_cents: 2000 });
    await expectLedgerConsistent();
  });

  it("outcomes confirmed concurrently (two refunds, each reported twice) post each refund once, and the parts still add up", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(2345, "comfort"); // driver 1759, commission 586
    const ids: string[] = [];
    for (const amount of [1000, 1345]) {
      const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: amount });
      expect(reply.status, reply.text).toBe(202);
      ids.push(reply.json.refund.id);
    }
    const results = await Promise.all(
      [...ids, ...ids].map((refundId) =>
        applyRefundOutcome(ctx(), { endToEndId: payment.e2eId, refundId, status: "DEVOLVIDO" }),
      ),
    );
    expect(results.filter((r) => r.status === "applied")).toHaveLength(2);
    expect(results.filter((r) => r.status === "already_applied")).toHaveLength(2);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "refunded", refunded_cents: 2345 });

    let driver = 0;
    let revenue = 0;
    for (const id of ids) {
      for (const entry of (await refundPosting(id))?.entries ?? []) {
        if (entry.account_id.startsWith("driver:")) driver += entry.amount;
        if (entry.account_id.endsWith(":revenue")) revenue += entry.amount;
      }
    }
    expect([driver, revenue]).toEqual([1759, 586]);
    await expectLedgerConsistent();
  });

  it("concurrent refunds that together exceed the payment: exactly one is accepted", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(2500);
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        refundCall(finance.accessToken, payment.paymentId, { amount_cents: 2000 }),
      ),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 202))
      expectProblem(reply, 422, "refund_exceeds_paid");
    expect(await refundRows(payment.paymentId)).toHaveLength(1);
    expect(await efiRefunds(payment.e2eId)).toHaveLength(1);
  });
});

describe("POST /v1/admin/payments/{id}/refund: Efí does not make the refund", () => {
  it("R$0.01: Efí's sandbox rejects it (NAO_REALIZADO): the refund fails, nothing is posted, the amount is free again", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1500);
    const postings = await refundPostingCount();

    const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 1 });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json.refund).toMatchObject({ status: "processing", amount_cents: 1 });
    const refundId = reply.json.refund.id;

    const outcome = await confirmFromEfi(payment, refundId);
    expect(outcome).toMatchObject({
      status: "applied",
      refund: {
        id: refundId,
        status: "failed",
        failure_reason: expect.stringContaining("0,01"),
        ledger_transaction_id: null,
      },
    });
    expect(await refundPosting(refundId)).toBeNull();
    expect(await refundPostingCount()).toBe(postings);
    expect(await paymentRow(payment.paymentId)).toMatchObject({ status: "paid", refunded_cents: 0 });
    expect(await paymentSummary(ctx(), payment.paymentId)).toMatchObject({ refundable_cents: 1500 });
    expect(await balances(payment.driverId)).toEqual({ available: 0, pending: payment.driverCents });

    // Replays change nothing; a contradicting DEVOLVIDO afterwards is a conflict, not a posting.
    expect(await confirmFromEfi(payment, refundId)).toMatchObject({ status: "already_applied" });
    expect(
      await applyRefundOutcome(ctx(), { endToEndId: payment.e2eId, refundId, status: "DEVOLVIDO" }),
    ).toMatchObject({ status: "conflict", refund: { status: "failed" } });
    expect(await refundPostingCount()).toBe(postings);
    await expectLedgerConsistent();
  });

  it("a refusal in Efí's request (400 pix_nao_encontrado) fails the refund at once", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1200);
    // The payment names a Pix that Efí never received.
    const bogus = `E09089356${"2026112910000".slice(0, 12)}${"X".repeat(11)}`;
    await env.DB.prepare("UPDATE payments SET end_to_end_id = ? WHERE id = ?")
      .bind(bogus, payment.paymentId)
      .run();

    const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 500 });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json.refund).toMatchObject({ status: "failed", failure_reason: "efi_pix_nao_encontrado" });
    expect(reply.json.payment).toMatchObject({ status: "paid", refundable_cents: 1200 });
    expect(await refundPosting(reply.json.refund.id)).toBeNull();
  });

  it("an outcome for a refund we never made is reported, not applied", async () => {
    const payment = await paidPixRide(1100);
    expect(
      await applyRefundOutcome(ctx(), {
        endToEndId: payment.e2eId,
        refundId: "rfd01JD8Y3M0S3Q4VQK6E9Q1T2B5C",
        status: "DEVOLVIDO",
      }),
    ).toEqual({ status: "unknown_refund" });
    expect(
      await applyRefundOutcome(ctx(), {
        endToEndId: payment.e2eId,
        refundId: "devolucao1",
        status: "DEVOLVIDO",
      }),
    ).toEqual({ status: "unknown_refund" });
  });
});

describe("POST /v1/admin/payments/{id}/refund: who may refund", () => {
  it.each(["support", "ops"] as const)("%s staff: 403 forbidden, nothing happens", async (role) => {
    const staff = await createStaff(role);
    const payment = await paidPixRide(1300);
    expectProblem(await refundCall(staff.accessToken, payment.paymentId, {}), 403, "forbidden");
    expect(await refundRows(payment.paymentId)).toEqual([]);
    expect(await efiRefunds(payment.e2eId)).toEqual([]);
  });

  it.each(["passenger", "driver"] as const)("a %s: 403 forbidden", async (role) => {
    const user = await registerUser(role);
    const payment = await paidPixRide(1300);
    expectProblem(await refundCall(user.accessToken, payment.paymentId, {}), 403, "forbidden");
    expect(await refundRows(payment.paymentId)).toEqual([]);
  });

  it("no token: 401; an admin may refund", async () => {
    const payment = await paidPixRide(1300);
    expectProblem(
      await call("POST", `/v1/admin/payments/${payment.paymentId}/refund`, {
        headers: { "idempotency-key": unique() },
        body: {},
      }),
      401,
      "authentication_required",
    );
    const admin = await createStaff("admin");
    const reply = await refundCall(admin.accessToken, payment.paymentId, { amount_cents: 300 });
    expect(reply.status, reply.text).toBe(202);
  });
});

describe("POST /v1/admin/payments/{id}/refund: requests that are refused", () => {
  it("an unknown payment: 404", async () => {
    const finance = await createStaff("finance");
    expectProblem(
      await refundCall(finance.accessToken, "pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C", {}),
      404,
      "not_found",
    );
  });

  it.each(["pending", "failed", "expired"] as const)(
    "a %s payment: 409 payment_not_refundable",
    async (status) => {
      const finance = await createStaff("finance");
      const payment = await paidPixRide(1400);
      // An unpaid payment has no posting of its own (the ride's stays, as a fixture).
      await env.DB.prepare("UPDATE payments SET status = ?, ledger_transaction_id = NULL WHERE id = ?")
        .bind(status, payment.paymentId)
        .run();
      expectProblem(
        await refundCall(finance.accessToken, payment.paymentId, {}),
        409,
        "payment_not_refundable",
      );
      expect(await refundRows(payment.paymentId)).toEqual([]);
    },
  );

  it.each([
    ["zero", { amount_cents: 0 }],
    ["negative", { amount_cents: -100 }],
    ["fractional", { amount_cents: 10.5 }],
    ["a string", { amount_cents: "100" }],
    ["an unknown field", { amount: 100 }],
  ])("an amount that is %s: 400 validation_failed", async (_label, body) => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1400);
    expectProblem(await refundCall(finance.accessToken, payment.paymentId, body), 400, "validation_failed");
    expect(await refundRows(payment.paymentId)).toEqual([]);
  });

  it("more than was paid: 422 refund_exceeds_paid", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1400);
    const reply = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 1401 });
    expectProblem(reply, 422, "refund_exceeds_paid");
    expect(await refundRows(payment.paymentId)).toEqual([]);
    expect(await efiRefunds(payment.e2eId)).toEqual([]);
  });
});

describe("POST /v1/admin/payments/{id}/refund: idempotency", () => {
  it("a retry with the same key returns the first reply and refunds once", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1600);
    const key = unique();
    const first = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 600 }, key);
    expect(first.status, first.text).toBe(202);
    const again = await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 600 }, key);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json).toEqual(first.json);
    expect(await refundRows(payment.paymentId)).toHaveLength(1);
    expect(await efiRefunds(payment.e2eId)).toHaveLength(1);

    expectProblem(
      await refundCall(finance.accessToken, payment.paymentId, { amount_cents: 700 }, key),
      422,
      "idempotency_key_reused",
    );
  });

  it("without an Idempotency-Key: 400 idempotency_key_required", async () => {
    const finance = await createStaff("finance");
    const payment = await paidPixRide(1600);
    expectProblem(
      await call("POST", `/v1/admin/payments/${payment.paymentId}/refund`, {
        token: finance.accessToken,
        body: {},
      }),
      400,
      "idempotency_key_required",
    );
    expect(await refundRows(payment.paymentId)).toEqual([]);
  });
});

describe("refunds of other payments (service)", () => {
  function fakeCards(refund: CardProvider["refund"]): CardProvider {
    return { name: "fake", charge: async () => ({ status: "approved", chargeId: "1" }), refund };
  }

  async function paidCardRide(fareCents: number) {
    const c = ctx();
    const driverId = await insertUser("driver");
    const passengerId = await insertUser("passenger");
    const ride = await insertCompletedRide(c, {
      driverId,
      passengerId,
      fareCents,
      method: "card",
      completedAt: new Date(Date.now() - 60_000),
    });
    const chargeId = String(Date.now());
    const paymentId = await insertPaidPayment({
      purpose: "ride",
      rideId: ride.id,
      payerId: passengerId,
      method: "card",
      amountCents: fareCents,
      cardChargeId: chargeId,
    });
    const posted = await recordRidePayment(c, {
      rideId: ride.id,
      method: "card",
      amountCents: fareCents,
      provider: "efi",
      providerReference: chargeId,
      confirmedAt: new Date(),
    });
    await linkPosting(paymentId, posted.transactionId);
    return { paymentId, driverId, chargeId };
  }

  it("a card payment is refunded by the card provider, final at once", async () => {
    const finance = await createStaff("finance");
    const payment = await paidCardRide(2000);
    const asked: unknown[] = [];
    const result = await requestRefund(
      ctx({ cards: fakeCards(async (request) => void asked.push(request)) }),
      { paymentId: payment.paymentId, amountCents: 1000, actorId: finance.id },
    );
    expect(asked).toEqual([{ chargeId: payment.chargeId, amountCents: 1000 }]);
    expect(result.refund).toMatchObject({ status: "refunded", amount_cents: 1000 });
    expect(result.payment).toMatchObject({
      status: "partially_refunded",
      refunded_cents: 1000,
      refundable_cents: 1000,
    });
    expect((await refundPosting(result.refund.id))?.entries).toEqual([
      { account_id: "platform:platform:efi_balance", amount: -1000, enforce_floor: 1 },
      { account_id: `driver:${payment.driverId}:available`, amount: 800, enforce_floor: 0 },
      { account_id: "platform:platform:revenue", amount: 200, enforce_floor: 1 },
    ]);
    await expectLedgerConsistent();
  });

  it("a card refund the provider refuses fails; one whose outcome is unknown stays processing", async () => {
    const finance = await createStaff("finance");
    const payment = await paidCardRide(2000);
    const refused = await requestRefund(
      ctx({
        cards: fakeCards(async () => {
          throw new EfiError({
            status: 400,
            kind: "cobrancas",
            code: "charge_not_refundable",
            message: "no",
          });
        }),
      }),
      { paymentId: payment.paymentId, amountCents: 500, actorId: finance.id },
    );
    expect(refused.refund).toMatchObject({ status: "failed", failure_reason: "efi_charge_not_refundable" });

    const unknown = await requestRefund(
      ctx({
        cards: fakeCards(async () => {
          throw new EfiError({ status: 503, kind: "unknown", code: "server_error", message: "down" });
        }),
      }),
      { paymentId: payment.paymentId, amountCents: 500, actorId: finance.id },
    );
    expect(unknown.refund).toMatchObject({ status: "processing" });
    expect(unknown.payment).toMatchObject({ status: "paid", refunded_cents: 0, refundable_cents: 1500 });
    expect(await refundPosting(unknown.refund.id)).toBeNull();
  });

  it("a prepaid-credit top-up paid by Pix: the refund takes it back from the driver's credit", async () => {
    const finance = await createStaff("finance");
    const driverId = await insertUser("driver");
    const e2eId = await receivedPix(5000);
    const paymentId = await insertPaidPayment({
      purpose: "credit_topup",
      rideId: null,
      payerId: driverId,
      method: "pix",
      amountCents: 5000,
      endToEndId: e2eId,
    });
    const topup = await recordCreditTopup(ctx(), {
      driverId,
      amountCents: 5000,
      providerReference: e2eId,
      confirmedAt: new Date(),
    });
    await linkPosting(paymentId, topup.transactionId);
    const result = await requestRefund(ctx(), { paymentId, actorId: finance.id });
    expect(result.refund).toMatchObject({ status: "processing", amount_cents: 5000 });
    expect(await reconcileRefund(ctx(), result.refund.id)).toMatchObject({ status: "applied" });
    expect(await balanceOf(ctx(), driverAccount(driverId, "credit"))).toBe(0);
    expect((await refundPosting(result.refund.id))?.entries).toEqual([
      { account_id: "platform:platform:efi_balance", amount: -5000, enforce_floor: 1 },
      { account_id: `driver:${driverId}:credit`, amount: 5000, enforce_floor: 0 },
    ]);
    await expectLedgerConsistent();
  });
});

describe("driverShareOf", () => {
  it("rounds half up in integers, and cumulative parts add up to the share", () => {
    expect(driverShareOf(1, 1, 2)).toBe(1); // 0.5 → 1
    expect(driverShareOf(1000, 1759, 2345)).toBe(750);
    expect(driverShareOf(2345, 1759, 2345)).toBe(1759);
    expect(driverShareOf(0, 1759, 2345)).toBe(0);
    for (const [paid, share] of [
      [1001, 801],
      [999, 0],
      [777, 777],
    ] as const) {
      let sum = 0;
      for (let refunded = 0; refunded < paid; refunded += 97) {
        const next = Math.min(refunded + 97, paid);
        sum += driverShareOf(next, share, paid) - driverShareOf(refunded, share, paid);
      }
      expect(sum).toBe(share);
    }
  });
});
