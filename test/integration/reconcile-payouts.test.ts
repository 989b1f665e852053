import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { createEfiClient, type EfiFetch, idEnvioOf } from "../../src/integrations/efi";
import { EfiPayoutRail } from "../../src/integrations/efi/payout-rail";
import { driverAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { requestPayout } from "../../src/services/payouts/request";
import { runReconcile } from "../../src/services/reconcile/run";
import { registerWebhook, withLostWebhooks } from "../efi-webhook-helpers";
import { expectLedgerConsistent, fund } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";

// A payout whose first send reached Efí but whose reply was lost, and whose retry met a 429:
// the outcome is unknown, so the money stays held (never back in the driver's available balance
// while Efí pays it), and the reconciler settles it from Efí's own record, sending nothing again.

beforeAll(async () => {
  await registerWebhook();
});

/** Efí's client whose first Pix send reaches Efí and loses its reply; every later send gets 429. */
function flakySendClient() {
  let sends = 0;
  const flaky: EfiFetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.method === "PUT" && new URL(request.url).pathname.startsWith("/v3/gn/pix/")) {
      sends += 1;
      if (sends === 1) {
        await fetch(request);
        throw new TypeError("fetch failed: connection reset by peer");
      }
      return new Response(JSON.stringify({ nome: "too_many_requests", mensagem: "Limite excedido" }), {
        status: 429,
        headers: { "content-type": "application/json" },
      });
    }
    return fetch(request);
  };
  const efi = createEfiClient({
    baseUrl: env.EFI_PIX_BASE_URL,
    clientId: env.EFI_CLIENT_ID,
    clientSecret: env.EFI_CLIENT_SECRET,
    pixKey: env.EFI_PIX_KEY,
    fetch: flaky,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  return { efi, sends: () => sends };
}

describe("a payout whose send ended in 429 after an uncertain first try", () => {
  it("stays in transit with the money held, and the reconciler pays it without a second send", async () => {
    const base = createServiceContext(env);
    const { efi, sends } = flakySendClient();
    const ctx = { ...base, payoutRail: new EfiPayoutRail(efi) };
    const driverId = await fund(5000);
    const available = () => balanceOf(base, driverAccount(driverId, "available"));

    await allowPayoutsTo(driverId, "529.982.247-25");
    const payout = await withLostWebhooks(() =>
      requestPayout(ctx, driverId, { amountCents: 1000, pixKey: "529.982.247-25" }),
    );
    expect(sends()).toBe(2);
    expect(payout.status).toBe("in_transit");
    expect(await available()).toBe(4000); // not re-credited: Efí may be paying it

    // Efí holds exactly one send, the first one.
    const held = await env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM pix_sends WHERE id_envio = ?")
      .bind(idEnvioOf(payout.id))
      .first<number>("n");
    expect(held).toBe(1);

    const report = await runReconcile(base, { now: new Date(Date.now() + 30 * 60_000) });
    expect(report.failed).toEqual([]);
    const row = await env.DB.prepare("SELECT status FROM payouts WHERE id = ?")
      .bind(payout.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("paid");
    expect(await available()).toBe(4000);
    expect(sends()).toBe(2); // the reconciler only reads

    // A second run finds nothing to do.
    await runReconcile(base, { now: new Date(Date.now() + 30 * 60_000) });
    const txns = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM ledger_transactions WHERE reference_type = 'payout' AND reference_id = ?",
    )
      .bind(payout.id)
      .first<number>("n");
    expect(txns).toBe(2); // the request and the paid posting
    // Efí's own figure of what was sent today counts it.
    const totals = await env.DB.prepare(
      "SELECT SUM(sent_cents) AS cents FROM efi_daily_totals",
    ).first<number>("cents");
    expect(totals).toBeGreaterThanOrEqual(1000);
    await expectLedgerConsistent();
  });
});
