import type { Config } from "../../../lib/config";

/**
 * Where Efí posts a card charge's status changes: our card notification route, authenticated by
 * the same `hmac` secret as the Pix webhook (the notification is only a hint either way: its
 * token is read back from Efí before anything changes).
 */
export function cardNotificationUrl(config: Pick<Config, "PUBLIC_BASE_URL" | "EFI_WEBHOOK_HMAC_SECRET">) {
  const root = new URL(config.PUBLIC_BASE_URL).href.replace(/\/+$/, "");
  return `${root}/webhooks/efi/card?hmac=${encodeURIComponent(config.EFI_WEBHOOK_HMAC_SECRET)}`;
}
