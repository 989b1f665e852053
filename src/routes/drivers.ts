import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { isPlate, normalizePlate } from "../lib/plate";
import { listOpenOffers } from "../services/dispatch";
import * as drivers from "../services/drivers";
import { RideOfferSchema } from "./rides/offer-schema";
import { CategorySchema, LatLngSchema } from "./schemas";

// ---------------------------------------------------------------------------------------------
// Shapes

const VehicleRequestSchema = z
  .object({
    plate: z
      .string()
      .max(10)
      .refine(isPlate, "not a Brazilian plate (ABC1234 or Mercosul ABC1D23)")
      .transform(normalizePlate)
      .openapi({ example: "BRA2E19", description: "Stored upper case without dash or space" }),
    model: z.string().trim().min(1).max(60).openapi({ example: "Onix 1.0" }),
    color: z.string().trim().min(1).max(60).openapi({ example: "Prata" }),
    category: CategorySchema,
  })
  .openapi("VehicleRequest");

const VehicleSchema = z
  .object({ plate: z.string(), model: z.string(), color: z.string(), category: z.string() })
  .openapi("Vehicle");

const DriverProfileSchema = z
  .object({
    user_id: z.string().openapi({ example: "usr_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    status: z.enum(["offline", "online"]),
    // Unions, not .nullable(): that would mark the shared component itself nullable in the document.
    vehicle: z.union([VehicleSchema, z.null()]),
    location: z.union([LatLngSchema, z.null()]).openapi({ description: "The last stored position" }),
    last_seen_at: z.string().nullable(),
  })
  .openapi("DriverProfile");

const LocationSchema = z
  .object({
    lat: LatLngSchema.shape.lat,
    lng: LatLngSchema.shape.lng,
    heading: z.number().min(0).max(360).optional().openapi({ description: "Degrees clockwise from north" }),
    speed: z.number().min(0).optional().openapi({ description: "Metres per second" }),
  })
  .openapi("DriverLocation");

// ---------------------------------------------------------------------------------------------
// Routes: every one is for drivers only.

const getMe = createRoute({
  method: "get",
  path: "/me",
  operationId: "getDriverProfile",
  summary: "The driver's status, vehicle and last position",
  description:
    "For drivers; read only. A driver who never set a vehicle or went online reads as offline with no vehicle.",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(DriverProfileSchema, "The driver profile (offline with no vehicle until one is set)"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

const putVehicle = createRoute({
  method: "put",
  path: "/me/vehicle",
  operationId: "setDriverVehicle",
  summary: "Register or replace the driver's vehicle",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  description:
    "For drivers; replaces any vehicle on file; the vehicle's category decides which rides the driver sees. The same plate (model, colour or category corrected) or a first vehicle keeps the online status. Another plate is another vehicle: the driver goes offline and, if approved or under review, back to `pending_documents` until he uploads the new vehicle's CRLV and staff approve it; refused during an active ride (`409 driver_has_active_ride`).",
  request: jsonBody(VehicleRequestSchema),
  responses: {
    200: jsonContent(DriverProfileSchema, "The driver profile with the vehicle"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "driver_has_active_ride",
      "onboarding_transition_invalid",
    ),
  },
});

const goOnline = createRoute({
  method: "post",
  path: "/me/online",
  operationId: "goOnline",
  summary: "Go online at a position",
  description:
    "For drivers with a vehicle whose documents staff approved and which have not expired (`409 driver_not_approved`, `409 driver_documents_expired`); stores the position and makes the driver `online`, so new rides of their category nearby are offered to them and they may accept rides.",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: jsonBody(LatLngSchema),
  responses: {
    200: jsonContent(DriverProfileSchema, "The driver profile, online"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "vehicle_required",
      "driver_not_approved",
      "driver_documents_expired",
      "driver_cooldown",
      "driver_in_debt",
    ),
  },
});

const goOffline = createRoute({
  method: "post",
  path: "/me/offline",
  operationId: "goOffline",
  summary: "Go offline",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  description:
    "For drivers; makes the driver `offline`: no ride offers are sent to them and they cannot accept rides. No body. Idempotent.",
  responses: {
    200: jsonContent(DriverProfileSchema, "The driver profile, offline"),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "forbidden",
      "unsupported_media_type",
      "malformed_json",
      "payload_too_large",
    ),
  },
});

const postLocation = createRoute({
  method: "post",
  path: "/me/location",
  operationId: "reportDriverLocation",
  summary: "Report the driver's position",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  description: `For drivers, accepted while online; during a ride the position also streams to its passenger. The position is held by the area's driver index at once and copied to the stored profile at most every ${drivers.LOCATION_SNAPSHOT_INTERVAL_MS / 1000} s.`,
  request: jsonBody(LocationSchema),
  responses: {
    202: jsonContent(z.object({ accepted: z.literal(true) }), "The position was accepted"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "driver_offline"),
  },
});

const listOffers = createRoute({
  method: "get",
  path: "/me/offers",
  operationId: "listDriverOffers",
  summary: "The rides offered to the driver now",
  description:
    "For drivers; read only. The driver's open offers, soonest to close first: a driver holds at most one open offer at a time, so the list has one item or none. Each shows the pickup area, the distance to it, the estimate and the category, never the passenger. Accept with `POST /v1/rides/{id}/accept`, turn down with `POST /v1/rides/{id}/decline`.",
  tags: ["Drivers"],
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(z.object({ items: z.array(RideOfferSchema) }), "The open offers"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

export const driverRoutes = createRouter()
  .openapi(getMe, async (c) => {
    return c.json(await drivers.getDriverProfile(c.get("ctx"), c.get("user").id), 200);
  })
  .openapi(putVehicle, async (c) => {
    return c.json(await drivers.setVehicle(c.get("ctx"), c.get("user").id, c.req.valid("json")), 200);
  })
  .openapi(goOnline, async (c) => {
    return c.json(await drivers.goOnline(c.get("ctx"), c.get("user").id, c.req.valid("json")), 200);
  })
  .openapi(listOffers, async (c) => {
    return c.json({ items: await listOpenOffers(c.get("ctx"), c.get("user").id) }, 200);
  })
  .openapi(goOffline, async (c) => {
    return c.json(await drivers.goOffline(c.get("ctx"), c.get("user").id), 200);
  })
  .openapi(postLocation, async (c) => {
    await drivers.recordDriverLocation(c.get("ctx"), c.get("user").id, c.req.valid("json"));
    return c.json({ accepted: true as const }, 202);
  });
