// Efí's Cobranças API replies for cards, parsed at the boundary with zod into our own shapes
// (card amounts are integer centavos on this API already).

import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Cobranças API: card one-step

export type EfiCardChargeStatus = string;

export interface EfiCardCharge {
  chargeId: string;
  /** Efí's status: `approved`, `unpaid` (refused), `waiting`, … */
  status: EfiCardChargeStatus;
  totalCents: number | null;
  refusalReason: string | null;
}

/** `POST /v1/charge/one-step` → `{code: 200, data: {charge_id, status, total, refusal?{reason, retry}}}`. */
export const cardChargeSchema = z
  .object({
    data: z.object({
      charge_id: z.union([z.number().int(), z.string().min(1)]),
      status: z.string().min(1),
      total: z.number().int().optional(),
      refusal: z.object({ reason: z.string().optional() }).nullish(),
    }),
  })
  .transform(
    (c): EfiCardCharge => ({
      chargeId: String(c.data.charge_id),
      status: c.data.status,
      totalCents: c.data.total ?? null,
      refusalReason: c.data.refusal?.reason ?? null,
    }),
  );

/** `GET /v1/charge/:id` → `{code: 200, data: {charge_id, status, total, custom_id, reason?}}`. */
const cardChargeRecord = z
  .object({
    charge_id: z.union([z.number().int(), z.string().min(1)]),
    status: z.string().min(1),
    total: z.number().int().optional(),
    custom_id: z.string().nullish(),
    reason: z.string().nullish(),
    refusal: z.object({ reason: z.string().optional() }).nullish(),
  })
  .transform((c): EfiCardCharge & { customId: string | null } => ({
    chargeId: String(c.charge_id),
    status: c.status,
    totalCents: c.total ?? null,
    refusalReason: c.refusal?.reason ?? c.reason ?? null,
    customId: c.custom_id ?? null,
  }));

export const cardChargeReadSchema = z.object({ data: cardChargeRecord }).transform((r) => r.data);

/** `GET /v1/charges?custom_id=…` → `{code: 200, data: [charge…]}`. */
export const cardChargeListSchema = z.object({ data: z.array(cardChargeRecord) }).transform((r) => r.data);

/**
 * `GET /v1/notification/:token` → `{code: 200, data: [{id, type, custom_id, status{current,
 * previous}, identifiers{charge_id}, created_at}]}`, oldest first.
 */
export const cardNotificationSchema = z
  .object({
    data: z.array(
      z.object({
        id: z.number().int(),
        type: z.string(),
        custom_id: z.string().nullish(),
        status: z.object({ current: z.string() }),
        identifiers: z.object({ charge_id: z.union([z.number().int(), z.string().min(1)]) }),
      }),
    ),
  })
  .transform((n) =>
    n.data
      .filter((e) => e.type === "charge")
      .sort((a, b) => a.id - b.id)
      .map((e) => ({
        chargeId: String(e.identifiers.charge_id),
        customId: e.custom_id ?? null,
        status: e.status.current,
      })),
  );
