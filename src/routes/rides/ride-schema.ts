import { z } from "@hono/zod-openapi";
import { PAYMENT_METHODS, RIDE_STATUSES } from "../../db/schema";
import { LatLngSchema } from "../schemas";

const nullableString = z.string().nullable();

/** A ride as every ride route answers it. */
export const RideSchema = z
  .object({
    id: z.string().openapi({ example: "ride_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    status: z.enum(RIDE_STATUSES),
    passenger_id: z.string(),
    driver_id: nullableString,
    category: z.string(),
    pickup: LatLngSchema,
    dropoff: LatLngSchema,
    payment_method: z.enum(PAYMENT_METHODS),
    quote_id: nullableString,
    estimated_fare_cents: z.number().int(),
    estimated_distance_m: z.number().int(),
    estimated_duration_s: z.number().int(),
    final_fare_cents: z.number().int().nullable(),
    distance_m: z.number().int().nullable(),
    duration_s: z.number().int().nullable(),
    cancellation_fee_cents: z.number().int().nullable(),
    cancelled_by: z.enum(["passenger", "driver", "system"]).nullable(),
    cancel_reason: nullableString,
    seq: z.number().int().openapi({ description: "Sequence number of the ride's latest event" }),
    created_at: z.string(),
    expires_at: z.string().openapi({ description: "When a ride nobody accepted expires" }),
    accepted_at: nullableString,
    arrived_at: nullableString,
    started_at: nullableString,
    completed_at: nullableString,
    cancelled_at: nullableString,
    expired_at: nullableString,
  })
  .openapi("Ride");
