import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { sandboxControl } from "../efi-network";

describe("the platform's Efí client in tests", () => {
  it("reaches the in-process sandbox through the composition root", async () => {
    const ctx = createServiceContext(env);
    const txid = `wiring${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 30);
    const charge = await ctx.efi.createCharge({ txid, amountCents: 1234, expiresInSeconds: 600 });
    expect(charge.txid).toBe(txid);
    const state = await sandboxControl("GET", "/sandbox/state");
    expect(JSON.stringify(state.json)).toContain(txid);
  });
});
