// Card payments behind one interface: the composition root picks Efí's Cobranças API in
// production (`createEfiCardProvider`, src/integrations/efi/card.ts) and `LocalCardProvider` in
// development and tests. The card itself never reaches us: the app tokenises it in the browser or
// the phone (Efí's `payment-token-efi`) and hands us the `paymentToken`.

/** Who pays. Efí's card API requires every field (and the billing address). */
export interface CardCustomer {
  name: string;
  /** 11 digits. */
  cpf: string;
  email: string;
  /** E.164 with country code 55, e.g. +5511987654321. */
  phone: string;
  /** YYYY-MM-DD. */
  birthDate: string;
}

export interface CardBillingAddress {
  street: string;
  number: string;
  neighborhood: string;
  /** 8 digits. */
  zipcode: string;
  city: string;
  /** Two-letter UF, e.g. SP. */
  state: string;
  complement?: string;
}

export interface CardChargeRequest {
  amountCents: number;
  /** The one-use (or reusable) token from the card tokeniser. */
  paymentToken: string;
  customer: CardCustomer;
  /** What the statement's item says, e.g. "Corrida 01J…". */
  description: string;
  /**
   * Our id for this charge (e.g. the payment id). Card charges cannot be retried safely by the
   * provider, so the key is stored with the charge (Efí: `metadata.custom_id`) for reconciliation.
   */
  idempotencyKey: string;
  /** Default 1. */
  installments?: number;
  billingAddress: CardBillingAddress;
  /** Where the provider posts the charge's status changes (Efí: `metadata.notification_url`). */
  notificationUrl?: string;
}

export type CardChargeResult =
  /** `totalCents`: what the provider says it charged, when it says so. */
  | { status: "approved"; chargeId: string; totalCents?: number | null }
  | { status: "refused"; chargeId: string; reason: string }
  /** The issuer or the provider's risk analysis has not decided yet; the result comes by notification. */
  | { status: "pending"; chargeId: string }
  /** The provider answered with a status we do not know: the card may have been charged. */
  | { status: "unknown"; chargeId: string; detail: string };

/** A charge as the provider reports it later (a lookup, a notification): whose it is and where it stands. */
export interface CardChargeState {
  /** Our idempotency key the charge carries (`<payment id>:<attempt>`), when it carries one. */
  customId: string | null;
  result: CardChargeResult;
}

export interface CardRefundRequest {
  chargeId: string;
  /** Omitted: the whole charge. */
  amountCents?: number;
}

/**
 * Charges tokenised cards. `charge` resolves with the provider's decision and throws only when
 * the call failed; when that failure leaves the outcome unknown (a timeout, a 5xx: see
 * `EfiError.outcomeUnknown`) the charge may exist and must be reconciled, never simply repeated.
 */
export interface CardProvider {
  /** Stored with the payment, e.g. `efi` or `local`. */
  readonly name: string;
  charge(request: CardChargeRequest): Promise<CardChargeResult>;
  refund(request: CardRefundRequest): Promise<void>;
  /**
   * The charge by its id, or else the newest carrying `customId`; null when the provider has
   * none (the charge request never reached it). Optional: a provider that decides every charge in
   * its reply has nothing to look up.
   */
  lookup?(ref: { chargeId?: string | null; customId: string }): Promise<CardChargeState | null>;
  /** The latest state of the charge a notification token is about. */
  notification?(token: string): Promise<CardChargeState>;
}

/** Payment tokens on which `LocalCardProvider` refuses or leaves a charge pending. */
export const LOCAL_CARD_REFUSED_TOKEN = "tok_refused";
export const LOCAL_CARD_PENDING_TOKEN = "tok_pending";

/**
 * The provider for development and tests: no money moves. A charge is approved, except with the
 * token `tok_refused` (refused, "card_declined") or `tok_pending` (pending); its id derives from
 * the idempotency key, so the same request gives the same answer. Like the local payout rail, it
 * refuses to run outside development and test, where an "approved" that charged nobody would be
 * a lie (staging and production also refuse to start without a card API URL).
 */
export class LocalCardProvider implements CardProvider {
  readonly name = "local";
  private readonly appEnv: string;

  constructor(appEnv: string) {
    this.appEnv = appEnv;
  }

  async charge(request: CardChargeRequest): Promise<CardChargeResult> {
    this.assertNotProduction();
    if (!Number.isSafeInteger(request.amountCents) || request.amountCents < 1) {
      throw new TypeError(`amountCents must be a positive integer, got ${request.amountCents}`);
    }
    const chargeId = `local_${request.idempotencyKey}`;
    if (request.paymentToken === LOCAL_CARD_REFUSED_TOKEN) {
      return { status: "refused", chargeId, reason: "card_declined" };
    }
    if (request.paymentToken === LOCAL_CARD_PENDING_TOKEN) return { status: "pending", chargeId };
    return { status: "approved", chargeId };
  }

  async refund(_request: CardRefundRequest): Promise<void> {
    this.assertNotProduction();
  }

  private assertNotProduction(): void {
    if (this.appEnv !== "development" && this.appEnv !== "test") {
      throw new Error("LocalCardProvider charges nobody; configure a real card provider outside development");
    }
  }
}
