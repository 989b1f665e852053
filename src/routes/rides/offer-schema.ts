import { z } from "@hono/zod-openapi";
import { PAYMENT_METHODS } from "../../db/schema";
import { LatLngSchema } from "../schemas";

/** A ride as offered to a driver: where and what, never who. */
export const RideOfferSchema = z
  .object({
    id: z.string().openapi({ description: "The ride's id" }),
    category: z.string(),
    pickup: LatLngSchema.openapi({ description: "The pickup area, rounded to about 110 m" }),
    dropoff: LatLngSchema.openapi({ description: "The dropoff's part of town, rounded to about 1 km" }),
    payment_method: z.enum(PAYMENT_METHODS),
    estimated_fare_cents: z.number().int(),
    estimated_distance_m: z.number().int(),
    estimated_duration_s: z.number().int(),
    distance_to_pickup_m: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "From the driver's stored position when offered, metres" }),
    batch: z.number().int().openapi({ description: "Which batch of this ride's dispatch the offer was in" }),
    created_at: z.string(),
    offered_at: z.string(),
    expires_at: z.string().openapi({ description: "The end of the offer's window" }),
  })
  .openapi("RideOffer");

export const DeclinedOfferSchema = z
  .object({
    ride_id: z.string(),
    status: z.literal("declined"),
    batch: z.number().int(),
    offered_at: z.string(),
    responded_at: z.string(),
  })
  .openapi("DeclinedOffer");
