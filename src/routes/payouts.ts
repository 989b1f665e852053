import { createRoute, z } from "@hono/zod-openapi";
import { PAYOUT_STATUSES } from "../db/schema";
import { requireEdgeAuth, requireRole } from "../http/auth";
import { idempotent } from "../http/idempotency";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  IDEMPOTENCY_PROBLEMS,
  IdempotencyHeaders,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { PageQuerySchema } from "../lib/pagination";
import { PIX_KEY_TYPES } from "../lib/pix-keys";
import { listPayoutKeys, registerPayoutKey, removePayoutKey } from "../services/payouts/keys";
import { listPayouts } from "../services/payouts/list";
import { requestPayout } from "../services/payouts/request";

export const PayoutSchema = z
  .object({
    id: z.string().openapi({ example: "pout_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    status: z.enum(PAYOUT_STATUSES).openapi({
      description:
        "`in_transit` until the Pix rail reports `paid` or `failed`; a failed payout's money is back in the available balance",
    }),
    amount_cents: z.number().int().openapi({ description: "What the Pix key receives" }),
    fee_cents: z.number().int().openapi({ description: "Charged on top of the amount" }),
    pix_key: z
      .string()
      .openapi({ example: "*******8909", description: "Masked: only the last four characters" }),
    pix_key_type: z.enum(PIX_KEY_TYPES),
    rail: z.string().openapi({ example: "local" }),
    failure_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Payout");

const CreatePayoutSchema = z
  .object({
    amount_cents: z
      .number()
      .int()
      .positive()
      .max(100_000_000)
      .openapi({ example: 5000, description: "At least the configured minimum payout" }),
    pix_key: z.string().min(1).max(100).openapi({
      example: "+5511987654321",
      description:
        "One of the driver's registered Pix keys (`POST /v1/payouts/keys`) whose cool-down has passed, written in any form its type allows",
    }),
  })
  .openapi("CreatePayoutRequest");

const PayoutKeySchema = z
  .object({
    id: z.string().openapi({ example: "pkey_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    pix_key: z.string().openapi({ example: "+5511987654321", description: "Normalised" }),
    pix_key_type: z.enum(PIX_KEY_TYPES),
    usable_from: z.string().openapi({ description: "When the key may receive its first payout" }),
    created_at: z.string(),
  })
  .openapi("PayoutKey");

const RegisterPayoutKeySchema = z
  .object({
    pix_key: z.string().min(1).max(100).openapi({
      example: "+5511987654321",
      description:
        "A CPF (it must be the driver's own), an e-mail (at most 77 characters), a phone as +55 with area code, or a random key (UUID). A CNPJ key is refused: it belongs to a company.",
    }),
  })
  .strict()
  .openapi("RegisterPayoutKeyRequest");

const security = [{ bearerAuth: [] }];

const create = createRoute({
  method: "post",
  path: "/",
  operationId: "createPayout",
  tags: ["Payouts"],
  summary: "Pay out the available balance by Pix",
  description:
    "For drivers, to one of their registered Pix keys once its cool-down has passed (409 `payout_key_cooling_down` with `retry_after`), within the daily payout limit (409 `payout_daily_limit`); a balance in debt covers nothing. Moves `amount_cents` plus the payout fee out of the available balance at once (of concurrent payouts for one balance, only those it covers succeed; the others get 409 `insufficient_funds`) and sends it by Pix. Answered 202 with the payout: `in_transit` until the rail reports, or already `paid` or `failed` when the rail knows at once. Needs an `Idempotency-Key`: a retry returns the first reply and moves no money twice.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver"), idempotent] as const,
  request: {
    ...jsonBody(CreatePayoutSchema),
    headers: IdempotencyHeaders,
  },
  responses: {
    202: jsonContent(PayoutSchema, "The payout"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      ...IDEMPOTENCY_PROBLEMS,
      "invalid_pix_key",
      "payout_below_minimum",
      "insufficient_funds",
      "payout_cpf_required",
      "payout_key_not_registered",
      "payout_key_cooling_down",
      "payout_daily_limit",
    ),
  },
});

const registerKey = createRoute({
  method: "post",
  path: "/keys",
  operationId: "registerPayoutKey",
  tags: ["Payouts"],
  summary: "Register a Pix key for payouts",
  description:
    "For drivers with a CPF on file (else 409 `payout_cpf_required`). Payouts go only to registered keys. A CPF key must be the driver's own CPF and a CNPJ key is refused (422 `payout_key_not_owned`); every payout also asks Efí to check that the key belongs to the driver's CPF. A new key can receive payouts once `usable_from` has passed (the configured cool-down). Answers 201 with a new key, or 200 with the key already registered (its cool-down unchanged). At most 5 keys.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: jsonBody(RegisterPayoutKeySchema),
  responses: {
    201: jsonContent(PayoutKeySchema, "The key, registered now"),
    200: jsonContent(PayoutKeySchema, "The key, registered before"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...AUTH_PROBLEMS,
      "forbidden",
      "invalid_pix_key",
      "payout_cpf_required",
      "payout_key_not_owned",
    ),
  },
});

const listKeys = createRoute({
  method: "get",
  path: "/keys",
  operationId: "listPayoutKeys",
  tags: ["Payouts"],
  summary: "The driver's registered payout Pix keys",
  description: "For drivers; read only. Newest first.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(z.object({ items: z.array(PayoutKeySchema) }), "The keys"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

const removeKey = createRoute({
  method: "delete",
  path: "/keys/{id}",
  operationId: "removePayoutKey",
  tags: ["Payouts"],
  summary: "Remove a payout Pix key",
  description:
    "For drivers. The key receives no further payouts; registering it again starts a new cool-down. Another driver's key is 404.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    204: { description: "Removed" },
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "not_found", "validation_failed", "payload_too_large"),
  },
});

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listPayouts",
  tags: ["Payouts"],
  summary: "The driver's payouts, newest first",
  description: "For drivers; read only. Each payout with its status on the Pix rail and a masked Pix key.",
  security,
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(PayoutSchema), next_cursor: z.string().nullable() }),
      "A page of payouts",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

export const payoutRoutes = createRouter()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const payout = await requestPayout(c.get("ctx"), c.get("user").id, {
      amountCents: body.amount_cents,
      pixKey: body.pix_key,
    });
    return c.json(payout, 202);
  })
  .openapi(list, async (c) =>
    c.json(await listPayouts(c.get("ctx"), c.get("user").id, c.req.valid("query")), 200),
  )
  .openapi(registerKey, async (c) => {
    const { key, created } = await registerPayoutKey(
      c.get("ctx"),
      c.get("user").id,
      c.req.valid("json").pix_key,
    );
    return created ? c.json(key, 201) : c.json(key, 200);
  })
  .openapi(listKeys, async (c) =>
    c.json({ items: await listPayoutKeys(c.get("ctx"), c.get("user").id) }, 200),
  )
  .openapi(removeKey, async (c) => {
    await removePayoutKey(c.get("ctx"), c.get("user").id, c.req.valid("param").id);
    return c.body(null, 204);
  });
