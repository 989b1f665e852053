import { env } from "cloudflare:workers";
import { createPushEmulator } from "../sandbox/push/src/app";

/** The host vitest.config.ts gives as FCM_OAUTH_URL and FCM_BASE_URL. */
export const PUSH_HOST = "fcm.sandbox.test";

/** The public half of the service account key the platform signs with (FCM_PRIVATE_KEY). */
async function publicKeyOf(pkcs8Pem: string): Promise<CryptoKey> {
  const base64 = pkcs8Pem
    .replace(/\\n/g, "\n")
    .replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "")
    .replace(/\s+/g, "");
  const der = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const privateKey = await crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
  return crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e }, algorithm, false, ["verify"]);
}

/**
 * The push emulator of this test file, in process: it checks each token request's JWT against
 * the public key, so a wrongly signed assertion gets no access token and no message is recorded.
 */
export const pushEmulator = createPushEmulator({
  publicKey: await publicKeyOf(env.FCM_PRIVATE_KEY),
  projectId: env.FCM_PROJECT_ID,
  clientEmail: env.FCM_CLIENT_EMAIL,
});

/** Routes requests for the emulator's host to it; every other request goes where it went. */
export function routePushToEmulator(): void {
  const previous = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (new URL(request.url).host === PUSH_HOST) return pushEmulator.fetch(request);
    return previous(request);
  }) as typeof fetch;
}
