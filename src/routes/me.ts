import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth } from "../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { PERMISSIONS, permissionsOf } from "../lib/permissions";
import * as auth from "../services/auth/accounts";
import { changePassword } from "../services/auth/password-change";
import { CURRENT_VERSIONS, recordConsent } from "../services/users/consents";
import { eraseAccount } from "../services/users/erase";
import { exportUserData } from "../services/users/export";
import { UserSchema } from "./schemas";

const me = createRoute({
  method: "get",
  path: "/",
  operationId: "getMe",
  tags: ["Me"],
  summary: "The signed-in user",
  description: "For any signed-in user, whatever the role; read only.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    200: jsonContent(
      UserSchema.extend({
        permissions: z.array(z.enum(PERMISSIONS)).openapi({
          description:
            "What the role may do (empty for passengers and drivers): a staff tool shows only these",
        }),
      }).openapi("Me"),
      "The user",
    ),
    ...problemResponses(...AUTH_PROBLEMS),
  },
});

const rows = z.array(z.record(z.string(), z.unknown()));

const ExportSchema = z
  .object({
    exported_at: z.string(),
    profile: UserSchema.extend({ cpf_on_file: z.boolean() }),
    consents: z.array(
      z.object({ document: z.enum(["terms", "privacy"]), version: z.string(), accepted_at: z.string() }),
    ),
    rides: rows,
    ratings: rows,
    payments: rows,
    payment_methods: rows,
    wallet: z.object({
      accounts: z.array(z.object({ id: z.string(), kind: z.string(), balance_cents: z.number().int() })),
      entries: rows,
    }),
    settlements: rows,
    payouts: rows,
    devices: rows,
    notifications: rows,
    driver: z.record(z.string(), z.unknown()).nullable(),
    documents: rows,
    status_history: rows.openapi({ description: "A driver's going online and offline, oldest first." }),
    audit_entries: rows,
  })
  .openapi("PersonalDataExport");

const exportData = createRoute({
  method: "get",
  path: "/export",
  operationId: "exportMyData",
  tags: ["Me"],
  summary: "Everything we hold about the signed-in user (LGPD)",
  description:
    "Any signed-in user: profile, consents, rides, ratings, payments, cards (brand and last digits), wallet balances and statement, settlements, payouts, devices, notifications, driver profile and documents' metadata, and audit entries about them, as one JSON document. Secrets are left out and the CPF is reported only as on file. At most 5 a day.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  responses: {
    200: jsonContent(ExportSchema, "The export"),
    ...problemResponses(...AUTH_PROBLEMS, "rate_limited"),
  },
});

const erase = createRoute({
  method: "delete",
  path: "/",
  operationId: "eraseMe",
  tags: ["Me"],
  summary: "Close and anonymise the account (LGPD)",
  description:
    "Passengers and drivers, with their password (wrong passwords count like failed sign-ins). Refused while a ride is active (`409 passenger_has_active_ride`, `409 driver_has_active_ride`), a cancellation fee is unpaid (`409 outstanding_cancellation_fee`, naming the rides to pay at `GET /v1/rides/{id}/payment`) or a driver's wallet holds or owes money (`409 wallet_not_settled`, a debt included). Name, email, phone, CPF, cards, devices, notifications, documents (and their files) and vehicle are erased; rides, payments, payouts and the ledger stay as the law requires, without the person. Every session and socket ends. Staff accounts are not erased here (`403`).",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: jsonBody(z.object({ password: z.string().min(1).max(128) }).openapi("EraseAccountRequest")),
  responses: {
    204: { description: "The account is closed and anonymised" },
    ...problemResponses(
      ...AUTH_PROBLEMS,
      ...BODY_PROBLEMS,
      "invalid_credentials",
      "forbidden",
      "passenger_has_active_ride",
      "driver_has_active_ride",
      "outstanding_cancellation_fee",
      "wallet_not_settled",
      "rate_limited",
    ),
  },
});

const ChangePasswordSchema = z
  .object({
    current_password: z.string().min(1).max(128),
    new_password: z
      .string()
      .min(1)
      .max(128)
      .openapi({ description: `Needs ${auth.PASSWORD_RULE}` }),
  })
  .openapi("ChangePasswordRequest");

const password = createRoute({
  method: "post",
  path: "/password",
  operationId: "changeMyPassword",
  tags: ["Me"],
  summary: "Change the password; every other session ends",
  description:
    "Any signed-in user, with the current password (wrong ones count like failed sign-ins from this address: `401 invalid_credentials`, then `429`). The new password follows the registration rule (`400 weak_password`). The caller's session stays signed in; every other session of the account ends at once: its refresh tokens are refused, its access tokens stop working and its sockets close with 4401.",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: jsonBody(ChangePasswordSchema),
  responses: {
    204: { description: "The password is changed and every other session ended" },
    ...problemResponses(
      ...AUTH_PROBLEMS,
      ...BODY_PROBLEMS,
      "weak_password",
      "invalid_credentials",
      "rate_limited",
    ),
  },
});

const ConsentRequestSchema = z
  .discriminatedUnion("document", [
    z.object({ document: z.literal("terms"), version: z.literal(CURRENT_VERSIONS.terms) }),
    z.object({ document: z.literal("privacy"), version: z.literal(CURRENT_VERSIONS.privacy) }),
  ])
  .openapi("ConsentRequest", {
    description: `Only the current versions can be accepted: terms ${CURRENT_VERSIONS.terms}, privacy ${CURRENT_VERSIONS.privacy}`,
  });

const consent = createRoute({
  method: "post",
  path: "/consents",
  operationId: "recordConsent",
  tags: ["Me"],
  summary: "Accept a version of the terms or the privacy policy",
  description: "Any signed-in user. Each acceptance is kept with its time (registration records the first).",
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth] as const,
  request: jsonBody(ConsentRequestSchema),
  responses: {
    201: jsonContent(
      z
        .object({ document: z.enum(["terms", "privacy"]), version: z.string(), accepted_at: z.string() })
        .openapi("Consent"),
      "The acceptance recorded",
    ),
    ...problemResponses(...AUTH_PROBLEMS, ...BODY_PROBLEMS),
  },
});

export const meRoutes = createRouter()
  .openapi(me, async (c) => {
    const user = await auth.getUser(c.get("ctx"), c.get("user").id);
    return c.json({ ...user, permissions: [...permissionsOf(user.role)] }, 200);
  })
  .openapi(exportData, async (c) => c.json(await exportUserData(c.get("ctx"), c.get("user").id), 200))
  .openapi(erase, async (c) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    await eraseAccount(c.get("ctx"), c.get("user").id, { password: c.req.valid("json").password, ip });
    return c.body(null, 204);
  })
  .openapi(password, async (c) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    await changePassword(c.get("ctx"), c.get("user"), { ...c.req.valid("json"), ip });
    return c.body(null, 204);
  })
  .openapi(consent, async (c) =>
    c.json(await recordConsent(c.get("ctx"), c.get("user").id, c.req.valid("json")), 201),
  );
