import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import {
  getSettlementConfig,
  settlementConfigView,
  updateSettlementConfig,
} from "../../services/settlements/config";

const SettlementConfigSchema = z
  .object({
    delay_business_days: z.number().int().openapi({ description: "N of D+N" }),
    holidays: z.array(z.string()).openapi({ example: ["2026-12-25"] }),
    min_payout_cents: z.number().int(),
    payout_fee_cents: z.number().int(),
    credit_floor_cents: z.number().int(),
    payout_key_cooldown_seconds: z.number().int().openapi({
      description: "How long a newly registered payout Pix key waits before its first payout",
    }),
    payout_daily_limit_cents: z.number().int().openapi({
      description: "The most one driver may pay out per day (São Paulo), payouts not failed",
    }),
    updated_at: z.string(),
  })
  .openapi("SettlementConfig");

/** A real calendar date, YYYY-MM-DD. */
const CalendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
  }, "is not a calendar date");

const UpdateSettlementConfigSchema = z
  .object({
    delay_business_days: z.number().int().min(0).max(30).openapi({
      example: 2,
      description:
        "Business days (America/Sao_Paulo, weekends and holidays skipped) before earnings become available",
    }),
    holidays: z
      .array(CalendarDate)
      .max(1000)
      .openapi({
        example: ["2026-12-25", "2027-01-01"],
        description: "Dates that are not business days; stored sorted, without duplicates",
      }),
    min_payout_cents: z.number().int().min(1).max(100_000_000).openapi({ example: 1000 }),
    payout_fee_cents: z.number().int().min(0).max(100_000).openapi({
      example: 0,
      description: "Charged on top of each payout's amount",
    }),
    credit_floor_cents: z.number().int().min(-1_000_000).max(0).openapi({
      example: -2000,
      description: "The lowest prepaid credit (≤ 0) at which a driver may still accept rides",
    }),
    payout_key_cooldown_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional()
      .openapi({
        example: 86400,
        description:
          "Wait before a new payout Pix key's first payout (seconds, ≤ 30 days); omitted: unchanged",
      }),
    payout_daily_limit_cents: z.number().int().min(1).max(100_000_000).optional().openapi({
      example: 500000,
      description: "Most one driver may pay out per São Paulo day; omitted: unchanged",
    }),
  })
  .strict()
  .openapi("UpdateSettlementConfigRequest");

const security = [{ bearerAuth: [] }];

const readConfig = createRoute({
  method: "get",
  path: "/",
  operationId: "getSettlementConfig",
  tags: ["Admin"],
  summary: "The settlement and payout settings",
  description:
    "Staff with the `settlements:read` permission; read only. D+N, holidays, payout minimum and fee, credit floor, payout key cool-down and daily payout limit.",
  security,
  middleware: [requireAuth, requirePermission("settlements:read")] as const,
  responses: {
    200: jsonContent(SettlementConfigSchema, "The settings"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

const replaceConfig = createRoute({
  method: "put",
  path: "/",
  operationId: "replaceSettlementConfig",
  tags: ["Admin"],
  summary: "Replace the settlement and payout settings",
  description:
    "Staff with the `settlements:write` permission. Every field is required (read, change, write back). Audited with the settings before and after. A new D+N applies to payments confirmed from now on; a new credit floor applies to every driver at once. The payout safety fields may be omitted and then keep their value; a new cool-down applies to keys registered from now on.",
  security,
  middleware: [requireAuth, requirePermission("settlements:write")] as const,
  request: jsonBody(UpdateSettlementConfigSchema),
  responses: {
    200: jsonContent(SettlementConfigSchema, "The new settings"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden"),
  },
});

export const adminSettlementConfigRoutes = createRouter()
  .openapi(readConfig, async (c) =>
    c.json(settlementConfigView(await getSettlementConfig(c.get("ctx"))), 200),
  )
  .openapi(replaceConfig, async (c) => {
    const body = c.req.valid("json");
    const config = await updateSettlementConfig(c.get("ctx"), c.get("user").id, {
      delayBusinessDays: body.delay_business_days,
      holidays: body.holidays,
      minPayoutCents: body.min_payout_cents,
      payoutFeeCents: body.payout_fee_cents,
      creditFloorCents: body.credit_floor_cents,
      payoutKeyCooldownSeconds: body.payout_key_cooldown_seconds,
      payoutDailyLimitCents: body.payout_daily_limit_cents,
    });
    return c.json(settlementConfigView(config), 200);
  });
