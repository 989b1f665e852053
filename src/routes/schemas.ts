import { z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES, USER_ROLES, USER_STATUSES } from "../db/schema";
import { haversineMeters, type LatLng } from "../lib/geo";

export const UserSchema = z
  .object({
    id: z.string().openapi({ example: "usr_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    role: z.enum(USER_ROLES),
    status: z.enum(USER_STATUSES),
    name: z.string(),
    email: z.string(),
    phone: z.string(),
    created_at: z.string(),
  })
  .openapi("User");

export const SessionSchema = z
  .object({
    user: UserSchema,
    access_token: z.string().openapi({ description: "JWT, sent as `Authorization: Bearer …`" }),
    refresh_token: z.string().openapi({ description: "Opaque; single use, rotated on refresh" }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ description: "Access-token lifetime in seconds" }),
  })
  .openapi("Session");

const nullableString = z.string().nullable();

const PixChargeSchema = z
  .object({
    txid: nullableString.openapi({ description: "Efí's charge id; null until the charge exists" }),
    end_to_end_id: nullableString.openapi({ description: "The Pix that paid it, once paid" }),
    copia_e_cola: nullableString.openapi({ description: "The BR Code to paste in a bank app" }),
    qr_code_png: nullableString.openapi({ description: "The QR code as a `data:image/png;base64,` URI" }),
    expires_at: nullableString.openapi({ description: "After this the charge cannot be paid" }),
    attempt: z.number().int().openapi({ description: "1, then +1 per regenerated charge" }),
  })
  .openapi("PixCharge");

/** A payment as ride payments, credit top-ups and `GET /v1/payments/{id}` show it. */
export const PaymentSchema = z
  .object({
    id: z.string().openapi({ example: "pay_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    purpose: z.enum(["ride", "credit_topup"]),
    status: z.enum(PAYMENT_STATUSES).openapi({
      description: "A pending Pix charge past its `expires_at` reads `expired` (regenerate it for a new one)",
    }),
    method: z.enum(["pix", "card"]),
    amount_cents: z.number().int(),
    refunded_cents: z.number().int(),
    ride_id: nullableString,
    payer_id: z.string(),
    pix: PixChargeSchema.nullable().openapi({
      description:
        "The Pix charge (null for a card payment). While `txid` is null the charge is still being created: read again shortly.",
    }),
    created_at: z.string(),
    updated_at: z.string(),
    paid_at: nullableString,
  })
  .openapi("Payment");

export const IdParamSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** A point on the map, WGS 84 decimal degrees. */
export const LatLngSchema = z
  .object({
    lat: z.number().min(-90).max(90).openapi({ example: -23.5505 }),
    lng: z.number().min(-180).max(180).openapi({ example: -46.6333 }),
  })
  .openapi("LatLng");

/** A ride category; whether it is offered depends on the city's pricing rules. */
export const CategorySchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9_-]+$/, "use lowercase letters, digits, _ or -")
  .openapi({ example: "pop", description: "A ride category offered in the city, e.g. `pop`, `comfort`" });

/** Pickup and dropoff closer than this are the same place, not a trip. */
export const MIN_TRIP_DISTANCE_M = 50;

/**
 * A `superRefine` for bodies with `pickup` and `dropoff`: refuses a trip to the same place,
 * as a field error on `dropoff`. Silent while either point is itself invalid (zod still runs
 * refinements after a range error), so the caller sees that error alone.
 */
export function distinctTripPoints(body: { pickup: LatLng; dropoff: LatLng }, ctx: z.RefinementCtx): void {
  const valid = LatLngSchema.safeParse(body.pickup).success && LatLngSchema.safeParse(body.dropoff).success;
  if (valid && haversineMeters(body.pickup, body.dropoff) < MIN_TRIP_DISTANCE_M) {
    ctx.addIssue({
      code: "custom",
      path: ["dropoff"],
      message: `must be at least ${MIN_TRIP_DISTANCE_M} m from the pickup`,
    });
  }
}
