// Card payments through Efí's Cobranças API: `POST /v1/authorize` for a token
// (its own cache, never shared with the Pix API's), then a one-step charge with the payment token
// the app obtained from Efí's tokeniser. Card amounts are integer centavos on this API already.
// Nothing here is retried beyond a single re-authentication on a 401: a one-step charge is a POST
// without an idempotency key, so repeating it after a timeout could charge the card twice.

import { z } from "zod";
import type {
  CardChargeRequest,
  CardChargeResult,
  CardChargeState,
  CardProvider,
  CardRefundRequest,
} from "../card/provider.ts";
import {
  cardChargeListSchema,
  cardChargeReadSchema,
  cardChargeSchema,
  cardNotificationSchema,
  type EfiCardCharge,
} from "./card-types.ts";
import { EfiError } from "./errors.ts";
import { type EfiLogger, EfiTransport } from "./http.ts";
import { cobrancasTokenSchema } from "./types.ts";
import type { EfiFetch } from "./wire.ts";

export interface EfiCardProviderOptions {
  /** `https://cobrancas.api.efipay.com.br` or `https://cobrancas-h.api.efipay.com.br`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Plain `fetch`: the Cobranças API needs no client certificate. */
  fetch: EfiFetch;
  now?: () => Date;
  timeoutMs?: number;
  log?: EfiLogger;
}

const APPROVED = new Set(["approved", "paid", "settled"]);
const REFUSED = new Set(["unpaid", "canceled"]);
const PENDING = new Set(["new", "waiting", "identified"]);

/**
 * Efí's status as our result. A status we do not know (`refunded`, `contested`, anything new) is
 * `unknown`, never a refusal: the card may have been charged, and a refusal would let the
 * passenger be charged again by a retry.
 */
export function cardResultOf(charge: EfiCardCharge): CardChargeResult {
  if (APPROVED.has(charge.status)) {
    return { status: "approved", chargeId: charge.chargeId, totalCents: charge.totalCents };
  }
  if (REFUSED.has(charge.status)) {
    return { status: "refused", chargeId: charge.chargeId, reason: charge.refusalReason ?? charge.status };
  }
  if (PENDING.has(charge.status)) return { status: "pending", chargeId: charge.chargeId };
  return {
    status: "unknown",
    chargeId: charge.chargeId,
    detail: `card charge status ${JSON.stringify(charge.status)}`,
  };
}

/** "+5511987654321" → "11987654321": Efí wants the national number, digits only. */
function nationalPhone(phone: string): string {
  const digits = phone.replace(/\D/g, "");
  return digits.length > 11 && digits.startsWith("55") ? digits.slice(2) : digits;
}

export function createEfiCardProvider(options: EfiCardProviderOptions): CardProvider {
  const http = new EfiTransport({
    ...options,
    api: "cobrancas",
    tokenPath: "/v1/authorize",
    tokenSchema: cobrancasTokenSchema,
    retry: { attempts: 1 },
  });

  return {
    name: "efi",

    async charge(request: CardChargeRequest): Promise<CardChargeResult> {
      if (!Number.isSafeInteger(request.amountCents) || request.amountCents < 1) {
        throw new TypeError(`amountCents must be a positive integer, got ${request.amountCents}`);
      }
      const { customer, billingAddress } = request;
      const body = {
        items: [{ name: request.description.slice(0, 255), value: request.amountCents, amount: 1 }],
        metadata: {
          custom_id: request.idempotencyKey,
          ...(request.notificationUrl ? { notification_url: request.notificationUrl } : {}),
        },
        payment: {
          credit_card: {
            customer: {
              name: customer.name,
              cpf: customer.cpf,
              email: customer.email,
              phone_number: nationalPhone(customer.phone),
              birth: customer.birthDate,
            },
            installments: request.installments ?? 1,
            payment_token: request.paymentToken,
            billing_address: {
              street: billingAddress.street,
              number: billingAddress.number,
              neighborhood: billingAddress.neighborhood,
              zipcode: billingAddress.zipcode.replace(/\D/g, ""),
              city: billingAddress.city,
              state: billingAddress.state,
              ...(billingAddress.complement ? { complement: billingAddress.complement } : {}),
            },
          },
        },
      };
      const charge = await http.call(
        { method: "POST", path: "/v1/charge/one-step", body, idempotent: false },
        [200],
        cardChargeSchema,
      );
      return cardResultOf(charge);
    },

    async lookup(ref): Promise<CardChargeState | null> {
      if (ref.chargeId && /^\d+$/.test(ref.chargeId)) {
        try {
          const read = await http.call(
            { method: "GET", path: `/v1/charge/${ref.chargeId}`, idempotent: true },
            [200],
            cardChargeReadSchema,
          );
          return { customId: read.customId, result: cardResultOf(read) };
        } catch (error) {
          if (!(error instanceof EfiError && error.status === 404)) throw error;
        }
      }
      const list = await http.call(
        {
          method: "GET",
          path: `/v1/charges?custom_id=${encodeURIComponent(ref.customId)}`,
          idempotent: true,
        },
        [200],
        cardChargeListSchema,
      );
      const newest = list.filter((c) => c.customId === ref.customId).at(-1);
      return newest ? { customId: newest.customId, result: cardResultOf(newest) } : null;
    },

    async notification(token): Promise<CardChargeState> {
      if (!/^[A-Za-z0-9-]{1,100}$/.test(token)) throw new TypeError("not a notification token");
      const events = await http.call(
        { method: "GET", path: `/v1/notification/${token}`, idempotent: true },
        [200],
        cardNotificationSchema,
      );
      const latest = events.at(-1);
      if (!latest) throw new TypeError("the notification has no events");
      // The history names the charge; its current record (status, total, refusal) decides.
      const read = await http.call(
        { method: "GET", path: `/v1/charge/${latest.chargeId}`, idempotent: true },
        [200],
        cardChargeReadSchema,
      );
      return { customId: read.customId ?? latest.customId, result: cardResultOf(read) };
    },

    async refund(request: CardRefundRequest): Promise<void> {
      if (!/^\d+$/.test(request.chargeId)) throw new TypeError(`not an Efí charge id: ${request.chargeId}`);
      if (
        request.amountCents !== undefined &&
        (!Number.isSafeInteger(request.amountCents) || request.amountCents < 1)
      ) {
        throw new TypeError(`amountCents must be a positive integer, got ${request.amountCents}`);
      }
      await http.call(
        {
          method: "POST",
          path: `/v1/charge/card/${request.chargeId}/refund`,
          body: request.amountCents === undefined ? {} : { amount: request.amountCents },
          idempotent: false,
        },
        [200],
        z.unknown(),
      );
    },
  };
}
