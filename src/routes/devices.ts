import { createRoute, z } from "@hono/zod-openapi";
import { DEVICE_PLATFORMS } from "../db/schema";
import { requireEdgeAuth } from "../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { registerDevice, removeDevice } from "../services/notifications/devices";
import { IdParamSchema } from "./schemas";

// A user's phones, by their FCM registration token: where push notifications go.

/** FCM registration tokens are opaque; these bounds and characters cover them with room to spare. */
const Token = z
  .string()
  .regex(/^[A-Za-z0-9_:.-]{8,512}$/, "must be an FCM registration token")
  .openapi({ example: "fcm-token-of-this-install" });

const DeviceSchema = z
  .object({
    id: z.string().openapi({ example: "dvc_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    token: z.string(),
    platform: z.enum(DEVICE_PLATFORMS),
    created_at: z.string(),
    last_seen_at: z.string(),
  })
  .openapi("Device");

const RegisterDeviceSchema = z
  .object({ token: Token, platform: z.enum(DEVICE_PLATFORMS) })
  .openapi("RegisterDeviceRequest");

const security = [{ bearerAuth: [] }];

const register = createRoute({
  method: "post",
  path: "/",
  operationId: "registerDevice",
  tags: ["Notifications"],
  summary: "Register this phone for push notifications",
  description:
    "Any signed-in user. Idempotent per token: registering it again refreshes `last_seen_at` (200). A token registered by another account moves to the caller (the phone changed hands; 201). A user keeps at most 10 phones: registering another drops the one not seen for longest.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: jsonBody(RegisterDeviceSchema),
  responses: {
    200: jsonContent(DeviceSchema, "The token was already the caller's; refreshed"),
    201: jsonContent(DeviceSchema, "The token is now registered to the caller"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "removeDevice",
  tags: ["Notifications"],
  summary: "Stop push notifications to this phone",
  description:
    "By the device id that registration answered (the token itself never goes in a URL: URLs are logged). Only the caller's own device; any other is `404 not_found`.",
  security,
  middleware: [requireEdgeAuth] as const,
  request: { params: IdParamSchema },
  responses: {
    204: { description: "Removed" },
    // Any /v1 request's body is size-limited before the route runs, a DELETE's too.
    ...problemResponses(...AUTH_PROBLEMS, "validation_failed", "not_found", "payload_too_large"),
  },
});

export const deviceRoutes = createRouter()
  .openapi(register, async (c) => {
    const { device, created } = await registerDevice(c.get("ctx"), c.get("user").id, c.req.valid("json"));
    return created ? c.json(device, 201) : c.json(device, 200);
  })
  .openapi(remove, async (c) => {
    await removeDevice(c.get("ctx"), c.get("user").id, c.req.valid("param").id);
    return c.body(null, 204);
  });
