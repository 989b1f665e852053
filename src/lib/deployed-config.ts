/**
 * Secrets that are public because they are committed: the local values of `.dev.vars.example`,
 * the local Efí sandbox's credentials and the test suite's values. A deployed Worker holding one
 * of them is one anybody can sign tokens for, so it refuses to serve.
 */
export const PUBLIC_SECRETS: ReadonlySet<string> = new Set([
  "local-development-signing-key-change-me-0123456789",
  "ZGV2LWNwZi1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE=",
  "ZGV2LWNwZi1oYXNoLWtleS0wMDAwMDAwMDAwMDAwMDA=",
  "Client_Id_efi_sandbox",
  "Client_Secret_efi_sandbox",
  "dev-efi-webhook-hmac-change-me-0123456789",
  "dev-metrics-token-change-me-0123456789abcdef",
  "test-current-signing-key-0123456789abcdef",
  "test-previous-signing-key-0123456789abcdef",
  "dGVzdC1jcGYtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
  "dGVzdC1jcGYtaGFzaC1rZXktMDAwMDAwMDAwMDAwMDA=",
  "Client_Id_platform_test",
  "Client_Secret_platform_test",
  "test-efi-webhook-hmac-0123456789abcdef",
  "test-metrics-token-0123456789abcdef0123",
]);

/**
 * Fragments of committed values too long to list whole: the local push emulator's development
 * private key (in `.dev.vars.example` with `\n` escapes, in a Worker with real newlines).
 */
export const PUBLIC_SECRET_FRAGMENTS: readonly string[] = [
  "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZL5iCDVB5REeq",
];

/** Whether a value is, or contains, a committed development secret. */
export function isPublicSecret(value: string): boolean {
  return PUBLIC_SECRETS.has(value) || PUBLIC_SECRET_FRAGMENTS.some((fragment) => value.includes(fragment));
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/i;

/** A deployed Worker talks to real hosts over TLS only: never empty, plain HTTP or loopback. */
export function isDeployedUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" && !LOOPBACK.test(url.hostname);
  } catch {
    return false;
  }
}
