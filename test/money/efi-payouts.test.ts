import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { type EfiClient, EfiError, efiWebhookUrl, idEnvioOf } from "../../src/integrations/efi";
import { EfiPayoutRail, pixSendOutcome } from "../../src/integrations/efi/payout-rail";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { completePayout } from "../../src/services/payouts/complete";
import { requestPayout } from "../../src/services/payouts/request";
import { sandboxControl } from "../efi-network";
import { expectLedgerConsistent, fund } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

// Payouts by Efí's Pix send (EfiPayoutRail) against the in-process sandbox, which settles sends
// inline by homologação's rules: R$0.01–10.00 REALIZADO and R$10.01–20.00 NAO_REALIZADO by
// webhook, above R$20.00 refused in the request (422 pagamento_negado). The suite's composition
// root uses the local rail (PAYOUT_RAIL = "local" in vitest.config.ts); these tests swap in Efí's.
// The send's outcome reaches `completePayout` the way the payments queue applies the webhook:
// read back from Efí by idEnvio (`getPixSend`) and mapped by `pixSendOutcome`.

const CPF_KEY = "529.982.247-25";

function efiCtx(efi?: EfiClient): ServiceContext {
  const base = createServiceContext(env);
  return { ...base, payoutRail: new EfiPayoutRail(efi ?? base.efi) };
}

beforeAll(async () => {
  // Efí sends only from a key with a webhook: the send results are notified there.
  await createServiceContext(env).efi.registerWebhook(
    efiWebhookUrl("https://api.test", env.EFI_WEBHOOK_HMAC_SECRET),
  );
});

afterEach(async () => {
  await env.DB.prepare("UPDATE settlement_config SET payout_fee_cents = 0 WHERE id = 1").run();
});

const available = (driverId: string) =>
  balanceOf(createServiceContext(env), driverAccount(driverId, "available"));
const inTransit = () => balanceOf(createServiceContext(env), platformAccount("payouts_in_transit"));

async function payoutRow(payoutId: string) {
  return env.DB.prepare("SELECT * FROM payouts WHERE id = ?").bind(payoutId).first<Record<string, any>>();
}

async function transactionsOf(payoutId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, kind, reverses_id FROM ledger_transactions WHERE reference_type = 'payout' AND reference_id = ? ORDER BY created_at, id",
  )
    .bind(payoutId)
    .all<Record<string, any>>();
  return results;
}

/** Efí's result of the payout's send, applied as the send-result webhook's consumer does. */
async function applyEfiResult(ctx: ServiceContext, payoutId: string) {
  const send = await ctx.efi.getPixSend(idEnvioOf(payoutId));
  const outcome = pixSendOutcome(send);
  if (!outcome) throw new Error(`send of ${payoutId} is still ${send.status}`);
  return { send, payout: await completePayout(ctx, payoutId, outcome) };
}

describe("EfiPayoutRail: a payout sent by Pix through Efí", () => {
  it("sends the payout under its idEnvio to the driver's key; Efí's REALIZADO moves it out of transit", async () => {
    const ctx = efiCtx();
    const driverId = await fund(5000);
    const transitBefore = await inTransit();

    await allowPayoutsTo(driverId, CPF_KEY);
    const payout = await requestPayout(ctx, driverId, { amountCents: 1000, pixKey: CPF_KEY });
    expect(payout).toMatchObject({ status: "in_transit", rail: "efi", amount_cents: 1000 });
    expect(await available(driverId)).toBe(4000);
    expect(await inTransit()).toBe(transitBefore + 1000);

    // Efí holds one send: our idEnvio, the amount, the payout's (normalised) key.
    const send = await ctx.efi.getPixSend(idEnvioOf(payout.id));
    expect(send).toMatchObject({
      idEnvio: idEnvioOf(payout.id),
      amountCents: 1000,
      favoredKey: "52998224725",
    });
    expect(await payoutRow(payout.id)).toMatchObject({
      status: "in_transit",
      rail: "efi",
      rail_reference: send.e2eId,
    });
    await expectLedgerConsistent();

    const { payout: paid } = await applyEfiResult(ctx, payout.id);
    expect(send.status).toBe("REALIZADO");
    expect(paid).toMatchObject({ id: payout.id, status: "paid" });
    expect((await transactionsOf(payout.id)).map((t) => t.kind)).toEqual(["payout.request", "payout.paid"]);
    expect(await inTransit()).toBe(transitBefore);
    expect(await available(driverId)).toBe(4000);

    // The webhook again (or a read after it): nothing changes.
    expect((await applyEfiResult(ctx, payout.id)).payout.status).toBe("paid");
    expect(await transactionsOf(payout.id)).toHaveLength(2);
    await expectLedgerConsistent();
  });
});

describe("EfiPayoutRail: a failed Pix payout returns the money to the driver's available balance", () => {
  it("NAO_REALIZADO by webhook (the sandbox's R$10.01–20.00 band): reversed, amount and fee back in available", async () => {
    await env.DB.prepare("UPDATE settlement_config SET payout_fee_cents = 150 WHERE id = 1").run();
    const ctx = efiCtx();
    const driverId = await fund(5000);
    const transitBefore = await inTransit();

    await allowPayoutsTo(driverId, CPF_KEY);
    const payout = await requestPayout(ctx, driverId, { amountCents: 1500, pixKey: CPF_KEY });
    expect(payout).toMatchObject({ status: "in_transit", fee_cents: 150 });
    expect(await available(driverId)).toBe(5000 - 1650);

    const { send, payout: failed } = await applyEfiResult(ctx, payout.id);
    expect(send.status).toBe("NAO_REALIZADO");
    expect(failed).toMatchObject({ status: "failed", failure_reason: expect.any(String) });
    expect(await available(driverId)).toBe(5000);
    expect(await inTransit()).toBe(transitBefore);
    const [request, reversal] = await transactionsOf(payout.id);
    expect(reversal).toMatchObject({ kind: "payout.failed", reverses_id: request?.id });

    // A late contradicting result cannot move money again.
    await expect(completePayout(ctx, payout.id, { status: "paid" })).rejects.toThrow(/already failed/);
    expect(await available(driverId)).toBe(5000);
    await expectLedgerConsistent();
  });

  it("a send Efí rejects after accepting it (sandbox fail-next): the money is back in available", async () => {
    const ctx = efiCtx();
    const driverId = await fund(3000);
    const armed = await sandboxControl("POST", "/sandbox/pix-sends/fail-next", {
      motivo: "Conta destino encerrada",
    });
    expect(armed.status, armed.text).toBeLessThan(300);

    await allowPayoutsTo(driverId, "motorista@example.com");
    const payout = await requestPayout(ctx, driverId, { amountCents: 1000, pixKey: "motorista@example.com" });
    expect(payout.status).toBe("in_transit");
    expect(await available(driverId)).toBe(2000);

    const { send, payout: failed } = await applyEfiResult(ctx, payout.id);
    expect(send.status).toBe("NAO_REALIZADO");
    expect(failed.status).toBe("failed");
    expect(await available(driverId)).toBe(3000);
    await expectLedgerConsistent();
  });

  it("above R$20.00 Efí refuses in the request (422 pagamento_negado): the payout fails at once, money back", async () => {
    const ctx = efiCtx();
    const driverId = await fund(5000);
    const transitBefore = await inTransit();

    await allowPayoutsTo(driverId, CPF_KEY);
    const payout = await requestPayout(ctx, driverId, { amountCents: 2001, pixKey: CPF_KEY });
    expect(payout).toMatchObject({ status: "failed", rail: "efi", failure_reason: "efi_pagamento_negado" });
    expect(await available(driverId)).toBe(5000);
    expect(await inTransit()).toBe(transitBefore);
    expect(await payoutRow(payout.id)).toMatchObject({
      status: "failed",
      rail_reference: idEnvioOf(payout.id),
    });
    // Nothing was recorded at Efí.
    await expect(ctx.efi.getPixSend(idEnvioOf(payout.id))).rejects.toMatchObject({ status: 404 });
    await expectLedgerConsistent();
  });
});

describe("EfiPayoutRail: an unknown outcome keeps the money in transit", () => {
  function efiThatFails(error: EfiError): EfiClient {
    const real = createServiceContext(env).efi;
    return {
      ...real,
      pixKey: real.pixKey,
      sendPix: async () => {
        throw error;
      },
    };
  }

  it.each([
    ["no answer", new EfiError({ status: 0, kind: "unknown", code: "network_error", message: "timeout" })],
    ["a 5xx", new EfiError({ status: 500, kind: "legacy", code: "erro_aplicacao", message: "erro" })],
    [
      "a 409 it could not match to our earlier try",
      new EfiError({ status: 409, kind: "legacy", code: "id_envio_duplicado", message: "dup" }),
    ],
  ])(
    "%s: the payout stays in transit, its money held, until Efí's result settles it",
    async (_label, error) => {
      const ctx = efiCtx(efiThatFails(error));
      const driverId = await fund(2000);
      const transitBefore = await inTransit();

      await allowPayoutsTo(driverId, CPF_KEY);
      const payout = await requestPayout(ctx, driverId, { amountCents: 1000, pixKey: CPF_KEY });
      expect(payout).toMatchObject({ status: "in_transit", rail: "efi" });
      expect(await available(driverId)).toBe(1000);
      expect(await inTransit()).toBe(transitBefore + 1000);
      await expectLedgerConsistent();

      // Later Efí (or a person) reports it failed: the money returns.
      expect(
        (await completePayout(ctx, payout.id, { status: "failed", reason: "efi_nao_realizado" })).status,
      ).toBe("failed");
      expect(await available(driverId)).toBe(2000);
      expect(await inTransit()).toBe(transitBefore);
      await expectLedgerConsistent();
    },
  );

  it("a validation error from Efí (400) is a refusal: nothing was sent, the payout fails", async () => {
    const ctx = efiCtx(
      efiThatFails(new EfiError({ status: 400, kind: "legacy", code: "chave_invalida", message: "chave" })),
    );
    const driverId = await fund(2000);
    await allowPayoutsTo(driverId, CPF_KEY);
    const payout = await requestPayout(ctx, driverId, { amountCents: 1000, pixKey: CPF_KEY });
    expect(payout).toMatchObject({ status: "failed", failure_reason: "efi_chave_invalida" });
    expect(await available(driverId)).toBe(2000);
    await expectLedgerConsistent();
  });
});

describe("the composition root picks the payout rail by PAYOUT_RAIL", () => {
  it("efi by default and when asked; local when asked", () => {
    const { PAYOUT_RAIL: _ignored, ...withoutRail } = env as unknown as Record<string, unknown>;
    expect(createServiceContext(withoutRail as unknown as Env).payoutRail.name).toBe("efi");
    expect(createServiceContext({ ...env, PAYOUT_RAIL: "efi" } as Env).payoutRail).toBeInstanceOf(
      EfiPayoutRail,
    );
    expect(createServiceContext({ ...env, PAYOUT_RAIL: "local" } as Env).payoutRail.name).toBe("local");
    expect(createServiceContext(env).payoutRail.name).toBe("local"); // vitest.config.ts
  });

  it("pixSendOutcome maps Efí's statuses", () => {
    expect(pixSendOutcome({ status: "REALIZADO" })).toEqual({ status: "paid" });
    expect(pixSendOutcome({ status: "NAO_REALIZADO" }, "AC03")).toEqual({ status: "failed", reason: "AC03" });
    expect(pixSendOutcome({ status: "EM_PROCESSAMENTO" })).toBeUndefined();
  });
});
