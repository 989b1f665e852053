import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker, { type SandboxWorkerEnv } from "../../sandbox/efi/src/index";
import { readReply } from "../helpers";
import { newTxid } from "./helpers";

// The Worker entry as `wrangler dev` runs it: bindings and vars from sandbox/efi/wrangler.toml,
// work after the reply handed to waitUntil. No webhook is registered, so nothing leaves.
const workerEnv: SandboxWorkerEnv = {
  EFI_DB: env.EFI_SANDBOX_DB,
  EFI_CLIENT_ID: "worker-client",
  EFI_CLIENT_SECRET: "worker-secret",
  EFI_PIX_KEY: "worker@sandbox.test",
  EFI_AUTO_PAY_DELAY_MS: "0",
  EFI_SETTLE_DELAY_MS: "0",
  EFI_WEBHOOK_RETRY_DELAYS_MS: "0",
  EFI_ANY_FAVORED_KEY: "false",
};

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const ctx = createExecutionContext();
  const request = new Request(`http://127.0.0.1:8788${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    workerEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return readReply(response);
}

describe("the sandbox Worker", () => {
  it("serves the Pix API from its vars and pays a small cob after the reply, through waitUntil", async () => {
    const tokenReply = await call(
      "POST",
      "/oauth/token",
      { authorization: `Basic ${btoa("worker-client:worker-secret")}` },
      { grant_type: "client_credentials" },
    );
    expect(tokenReply.status, tokenReply.text).toBe(200);
    const auth = { authorization: `Bearer ${tokenReply.json.access_token}` };
    const txid = newTxid();
    const created = await call("PUT", `/v2/cob/${txid}`, auth, {
      calendario: { expiracao: 3600 },
      valor: { original: "9.99" },
      chave: "worker@sandbox.test",
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.status).toBe("ATIVA");
    const read = await call("GET", `/v2/cob/${txid}`, auth);
    expect(read.json.status).toBe("CONCLUIDA");
    expect(read.json.pix[0].valor).toBe("9.99");
  });

  it("serves the control page and state", async () => {
    const page = await call("GET", "/sandbox");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>Efí sandbox</h1>");
    expect(page.text).toContain("worker@sandbox.test");
    const state = await call("GET", "/sandbox/state");
    expect(state.json.account).toMatchObject({ clientId: "worker-client", pixKey: "worker@sandbox.test" });
    const missing = await call("GET", "/v2/nothing");
    expect(missing.status).toBe(404);
  });
});
