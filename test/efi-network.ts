import { env, exports } from "cloudflare:workers";
import { createSandbox } from "../sandbox/efi/src/app";
import { readReply } from "./helpers";

/** The host vitest.config.ts gives as EFI_PIX_BASE_URL and EFI_CARD_BASE_URL. */
export const EFI_SANDBOX_HOST = "efi.sandbox.test";

/**
 * The Efí sandbox of this test file, in process: the platform's Efí client reaches it through
 * the network boundary below, and it delivers webhooks straight to the platform's own fetch.
 * Inline, so a webhook has been delivered by the time the call that caused it returns; no
 * auto-pay, so each test pays its charges explicitly through the control API.
 */
export const efiSandbox = createSandbox({
  db: env.EFI_SANDBOX_DB,
  mode: "inline",
  autoPay: false,
  anyFavoredKey: true,
  clientId: env.EFI_CLIENT_ID,
  clientSecret: env.EFI_CLIENT_SECRET,
  pixKey: env.EFI_PIX_KEY,
  retryDelaysMs: [0],
  deliver: (url, init) => exports.default.fetch(new Request(url, init)),
});

/**
 * Routes requests for the sandbox host to the sandbox and leaves every other request alone.
 * The platform runs in this isolate, so this is the network as its Efí client sees it; the
 * production code path (fetch to a base URL) is unchanged.
 */
export function routeEfiToSandbox(): void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (new URL(request.url).host === EFI_SANDBOX_HOST) return efiSandbox.fetch(request);
    return realFetch(request);
  }) as typeof fetch;
}

/** Calls the sandbox's control API, e.g. `sandboxControl("POST", "/sandbox/charges/<txid>/pay")`. */
export async function sandboxControl(method: string, path: string, body?: unknown) {
  const response = await efiSandbox.fetch(
    new Request(`http://${EFI_SANDBOX_HOST}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return readReply(response);
}
