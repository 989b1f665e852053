import { env } from "cloudflare:workers";
import { EFI_SANDBOX_HOST, efiSandbox } from "./efi-network";
import { readReply } from "./helpers";

/** A charge as Efí's own API answers `GET /v2/cob/:txid` (wire format: amounts as "12.34"). */
export async function efiCob(txid: string): Promise<{ status: number; json: any }> {
  const basic = btoa(`${env.EFI_CLIENT_ID}:${env.EFI_CLIENT_SECRET}`);
  const token = await efiSandbox.fetch(
    new Request(`http://${EFI_SANDBOX_HOST}/oauth/token`, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "client_credentials" }),
    }),
  );
  const { access_token } = (await token.json()) as { access_token: string };
  const reply = await efiSandbox.fetch(
    new Request(`http://${EFI_SANDBOX_HOST}/v2/cob/${txid}`, {
      headers: { authorization: `Bearer ${access_token}` },
    }),
  );
  return readReply(reply);
}

/** How many cobs the sandbox holds whose txid starts with `prefix`. */
export async function sandboxCobCount(prefix: string): Promise<number> {
  const row = await env.EFI_SANDBOX_DB.prepare("SELECT COUNT(*) AS n FROM cobs WHERE txid LIKE ?")
    .bind(`${prefix}%`)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The payments row of a ride (snake_case columns), or null. */
export async function ridePaymentRow(rideId: string): Promise<Record<string, any> | null> {
  return env.DB.prepare("SELECT * FROM payments WHERE ride_id = ? AND purpose = 'ride'").bind(rideId).first();
}

export async function paymentRowById(id: string): Promise<Record<string, any> | null> {
  return env.DB.prepare("SELECT * FROM payments WHERE id = ?").bind(id).first();
}

/**
 * Breaks the network between the platform and Efí for charge creation (`PUT /v2/cob/:txid`):
 * `down` fails every such call without an answer; `reply-lost` lets it reach Efí (which creates
 * the charge) and then loses the answer. Every retry of the client meets the same fate. Returns
 * the function that mends it.
 */
export function breakChargeCreation(mode: "down" | "reply-lost"): () => void {
  const previous = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.host === EFI_SANDBOX_HOST && request.method === "PUT" && url.pathname.startsWith("/v2/cob/")) {
      if (mode === "reply-lost") await previous(request);
      throw new TypeError("fetch failed: connection reset by peer");
    }
    return previous(request);
  }) as typeof fetch;
  return () => {
    globalThis.fetch = previous;
  };
}

/**
 * Holds every `PUT /v2/cob/<txid>` until `count` of them have arrived (or `timeoutMs` passed),
 * then lets them all through at once: callers that raced past our database meet at Efí.
 * Returns how many arrived, and the function that mends the network.
 */
export function gateChargeCreation(txid: string, count: number, timeoutMs = 3000) {
  const previous = globalThis.fetch;
  let arrived = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const timer = setTimeout(() => open(), timeoutMs);
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.host === EFI_SANDBOX_HOST && request.method === "PUT" && url.pathname === `/v2/cob/${txid}`) {
      arrived += 1;
      if (arrived >= count) open();
      await gate;
    }
    return previous(request);
  }) as typeof fetch;
  return {
    arrived: () => arrived,
    mend: () => {
      clearTimeout(timer);
      globalThis.fetch = previous;
    },
  };
}

/** Waits a little, so that a message that should not arrive would have had the time to. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));
