/** Identifiers in Efí's formats: txid, idEnvio, e2eId (received and sent Pix), rtrId (refunds). */

/** Efí's ISPB, the participant code inside its e2eIds and rtrIds. */
export const EFI_ISPB = "09089356";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function randomAlnum(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
  let out = "";
  for (const byte of bytes) if (byte < 248) out += ALNUM[byte % 62];
  return out.length === length ? out : out + randomAlnum(length - out.length);
}

export function randomHex(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(length / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, length);
}

/** yyyyMMddHHmm in UTC, as in end-to-end and return ids. */
function stamp(now: Date): string {
  return now.toISOString().slice(0, 16).replace(/[-T:]/g, "");
}

/** `E` + ISPB + yyyyMMddHHmm + 11 alphanumerics (32 characters). Sends carry `API` + 8 hex. */
export function newE2eId(now: Date, kind: "received" | "send" = "received"): string {
  const tail = kind === "send" ? `API${randomHex(8)}` : randomAlnum(11);
  return `E${EFI_ISPB}${stamp(now)}${tail}`;
}

/** A refund's return id: `D` + ISPB + yyyyMMddHHmm + 11 alphanumerics (32 characters). */
export function newRtrId(now: Date): string {
  return `D${EFI_ISPB}${stamp(now)}${randomAlnum(11)}`;
}

/** The txid Efí picks on `POST /v2/cob`: 32 lower-case hex characters. */
export function newTxid(): string {
  return randomHex(32);
}

export const TXID_PATTERN = /^[a-zA-Z0-9]{26,35}$/;
export const ID_ENVIO_PATTERN = /^[a-zA-Z0-9]{1,35}$/;
export const DEVOLUCAO_ID_PATTERN = /^[a-zA-Z0-9]{1,35}$/;
export const E2E_ID_PATTERN = /^[a-zA-Z0-9]{32}$/;

function base64url(input: string | Uint8Array): string {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * A token shaped like Efí's (a JWT). The sandbox never verifies the signature: it looks the
 * token up in its database, which lets the control API expire it.
 */
export function newAccessToken(claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify({ ...claims, jti: randomHex(16) }));
  return `${header}.${payload}.${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}
