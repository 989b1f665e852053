import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import { type EfiClient, EfiError } from "../../src/integrations/efi";
import { refundFlaggedPix } from "../../src/services/reconcile/flagged-pix-refund";
import { sandboxControl } from "../efi-network";
import { registerWebhook, webhookEvents } from "../efi-webhook-helpers";
import { call, createStaff, expectProblem, unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";

// An admin's refund of a flagged received Pix (`POST /v1/admin/pix/{e2e_id}/refund`) that Efí
// refused moved nothing, so it may be asked again; one whose outcome is not known yet may not
// (it could still be paid), and one that succeeded is answered again without a second devolução.

const WAIT = { timeout: 10_000, interval: 100 };

beforeAll(async () => {
  await registerWebhook();
});

/** A Pix received for a charge that is none of ours: the payments queue flags it "unknown txid". */
async function flaggedPix(amountCents = 2500): Promise<string> {
  const txid = `flagged${unique().replace(/[^a-zA-Z0-9]/g, "")}`.slice(0, 35).padEnd(26, "0");
  await createServiceContext(env).efi.createCharge({ txid, amountCents, expiresInSeconds: 3600 });
  const paid = await sandboxControl("POST", `/sandbox/charges/${txid}/pay`);
  expect(paid.status, paid.text).toBe(200);
  const e2eId = paid.json.e2eId as string;
  await vi.waitFor(async () => {
    const [row] = await webhookEvents(e2eId);
    expect(row?.status).toBe("flagged");
  }, WAIT);
  return e2eId;
}

/** Our refund rows of the Pix, oldest first. */
async function refundRows(e2eId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, status, reason FROM flagged_pix_refunds WHERE end_to_end_id = ? ORDER BY id",
  )
    .bind(e2eId)
    .all<{ id: string; status: string; reason: string | null }>();
  return results;
}

/** The devoluções Efí holds for the Pix. */
async function devolucoes(e2eId: string): Promise<number> {
  return (
    (await env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM refunds WHERE e2e_id = ?")
      .bind(e2eId)
      .first<number>("n")) ?? 0
  );
}

/** The service with an Efí whose refund call ends in `error` (nothing reaches the sandbox). */
function ctxWhoseRefundFails(error: EfiError) {
  const base = createServiceContext(env);
  const efi: EfiClient = {
    ...base.efi,
    async refund() {
      throw error;
    },
  };
  return { ...base, efi };
}

const refundCall = (token: string, e2eId: string) =>
  call("POST", `/v1/admin/pix/${e2eId}/refund`, {
    token,
    body: { reason: "paid twice" },
    headers: { "idempotency-key": unique() },
  });

describe("refunding a flagged Pix again", () => {
  it("after Efí refused the first refund: the retry makes one new devolução, and a third call changes nothing", async () => {
    const e2eId = await flaggedPix();
    const staff = await createStaff("finance");
    const refusal = new EfiError({
      status: 400,
      kind: "legacy",
      code: "valor_invalido",
      message: "recusado",
    });
    const refused = await refundFlaggedPix(ctxWhoseRefundFails(refusal), {
      endToEndId: e2eId,
      actorId: staff.id,
    });
    expect(refused).toMatchObject({ status: "failed", failure_reason: "efi_valor_invalido" });
    expect(await devolucoes(e2eId)).toBe(0);

    const retry = await refundCall(staff.accessToken, e2eId);
    expect(retry.status, retry.text).toBe(202);
    expect(retry.json.id).not.toBe(refused.id);
    expect(retry.json).toMatchObject({ end_to_end_id: e2eId, amount_cents: 2500 });
    await vi.waitFor(async () => {
      expect((await refundRows(e2eId)).map((r) => r.status)).toEqual(["failed", "refunded"]);
    }, WAIT);
    expect(await devolucoes(e2eId)).toBe(1);

    // Refunded: asking again answers that refund; nothing new at Efí or here.
    const again = await refundCall(staff.accessToken, e2eId);
    expect(again.status, again.text).toBe(202);
    expect(again.json).toMatchObject({ id: retry.json.id, status: "refunded" });
    expect(await refundRows(e2eId)).toHaveLength(2);
    expect(await devolucoes(e2eId)).toBe(1);
    const audits = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_logs WHERE action = 'pix.refund_flagged' AND target_id = ?",
    )
      .bind(e2eId)
      .first<number>("n");
    expect(audits).toBe(2);
    await expectLedgerConsistent();
  });

  it("while the first refund's outcome is unknown: 409 refund_in_progress, nothing is sent again", async () => {
    const e2eId = await flaggedPix();
    const staff = await createStaff("finance");
    const noAnswer = new EfiError({ status: 0, kind: "unknown", code: "network_error", message: "timeout" });
    const pending = await refundFlaggedPix(ctxWhoseRefundFails(noAnswer), {
      endToEndId: e2eId,
      actorId: staff.id,
    });
    expect(pending.status).toBe("processing");

    expectProblem(await refundCall(staff.accessToken, e2eId), 409, "refund_in_progress");
    // Concurrent admins: none of them gets a second refund in.
    const racing = await Promise.all([1, 2, 3].map(() => refundCall(staff.accessToken, e2eId)));
    for (const reply of racing) expectProblem(reply, 409, "refund_in_progress");
    expect(await refundRows(e2eId)).toEqual([{ id: pending.id, status: "processing", reason: null }]);
    expect(await devolucoes(e2eId)).toBe(0);
  });

  it("racing first requests make one refund: the others are told it is in progress or answered it", async () => {
    const e2eId = await flaggedPix();
    const staff = await createStaff("finance");
    const replies = await Promise.all([1, 2, 3, 4].map(() => refundCall(staff.accessToken, e2eId)));
    const accepted = replies.filter((r) => r.status === 202);
    for (const reply of replies.filter((r) => r.status !== 202))
      expectProblem(reply, 409, "refund_in_progress");
    expect(new Set(accepted.map((r) => r.json.id)).size).toBe(1);
    await vi.waitFor(async () => {
      expect((await refundRows(e2eId)).map((r) => r.status)).toEqual(["refunded"]);
    }, WAIT);
    expect(await devolucoes(e2eId)).toBe(1);
  });
});
