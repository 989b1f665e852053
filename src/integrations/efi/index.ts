// Efí Bank: the only place in the code base that knows its wire format (API Pix and the card
// slice of the Cobranças API). Callers see integer centavos, our own ids and `EfiError`.

export { createEfiCardProvider, type EfiCardProviderOptions } from "./card.ts";
export {
  type CreateChargeInput,
  createEfiClient,
  type EfiClient,
  type EfiClientOptions,
  type EfiDebtor,
  type RefundInput,
  type SendPixInput,
} from "./client.ts";
export { EfiError, type EfiErrorKind, type EfiViolation, parseEfiError } from "./errors.ts";
export { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS, type EfiLogger, type RetryPolicy } from "./http.ts";
export { idEnvioOf, payoutIdOf, txidOf } from "./ids.ts";
export { clearEfiTokenCache } from "./token.ts";
export type {
  EfiCharge,
  EfiChargeStatus,
  EfiPixSend,
  EfiPixSendStatus,
  EfiQrCode,
  EfiReceivedPix,
  EfiRefund,
  EfiRefundStatus,
} from "./types.ts";
export { efiWebhookUrl } from "./webhook-url.ts";
export type { EfiFetch } from "./wire.ts";
