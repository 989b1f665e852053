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
    distance_m: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Measured by the server along the driver's trace; null if too few points" }),
    duration_s: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "From the server's started_at to its completed_at" }),
    driver_reported_distance_m: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "What the driver's app sent at completion; advisory, never priced" }),
    driver_reported_duration_s: z.number().int().nullable().openapi({ description: "Advisory, as above" }),
    fare_review: nullableString.openapi({
      description:
        "Why the fare differs from the quote (a measured fare was charged); null when the quote applied",
    }),
    ended_early_at: nullableString.openapi({ description: "When the passenger ended the trip early" }),
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
    expired_reason: z.enum(["request_timeout", "no_driver_available"]).nullable().openapi({
      description:
        "Why the ride expired: nobody accepted within its time, or no driver was left to offer it to",
    }),
  })
  .openapi("Ride");

/** A requested ride as a driver who is not assigned to it sees it: no passenger, points rounded. */
export const RideOfferSchema = z
  .object({
    id: z.string(),
    status: z.enum(RIDE_STATUSES),
    category: z.string(),
    pickup: LatLngSchema,
    dropoff: LatLngSchema,
    payment_method: z.enum(PAYMENT_METHODS),
    estimated_fare_cents: z.number().int(),
    estimated_distance_m: z.number().int(),
    estimated_duration_s: z.number().int(),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .openapi("RideOffer", {
    description:
      "The pickup is rounded to 3 decimal places (the block), the dropoff to 2 (the neighbourhood)",
  });
