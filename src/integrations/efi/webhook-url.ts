/**
 * The URL we register at Efí for Pix notifications:
 * `https://<host>/webhooks/efi/pix?hmac=<secret>&ignorar=`.
 * Efí POSTs to `{webhookUrl}/pix`; with `&ignorar=` last, that `/pix` lands inside the ignored
 * query value instead of the path, so one route serves every notification.
 * The `hmac` secret authenticates Efí, since a Worker cannot check its client certificate.
 */
export function efiWebhookUrl(publicBaseUrl: string, hmacSecret: string): string {
  if (!hmacSecret) throw new TypeError("the webhook hmac secret must not be empty");
  const base = new URL(publicBaseUrl);
  if (base.search || base.hash) throw new TypeError("the public base URL must not carry a query or fragment");
  const root = base.href.replace(/\/+$/, "");
  return `${root}/webhooks/efi/pix?hmac=${encodeURIComponent(hmacSecret)}&ignorar=`;
}
