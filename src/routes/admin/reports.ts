import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAuth, requirePermission } from "../../http/auth";
import type { AppEnv } from "../../http/env";
import { AUTH_PROBLEMS, createRouter, problemResponses } from "../../http/router";
import type { ServiceContext } from "../../services/context";
import { toCsv } from "../../services/reports/csv";
import { driversReport } from "../../services/reports/drivers";
import { payoutsReport } from "../../services/reports/payouts";
import { MAX_REPORT_DAYS, type ReportRange, resolveRange } from "../../services/reports/range";
import { REVENUE_METHODS, revenueReport } from "../../services/reports/revenue";
import { ridesReport } from "../../services/reports/rides";

const ReportQuerySchema = z.object({
  city_id: z.string().min(1).max(64).optional().openapi({
    description: "The city; may be left out while exactly one city is active",
    example: "sao-paulo",
  }),
  from: z.string().max(10).openapi({ description: "First local date, YYYY-MM-DD", example: "2026-11-01" }),
  to: z
    .string()
    .max(10)
    .openapi({
      description: `Last local date, inclusive; at most ${MAX_REPORT_DAYS} days in all`,
      example: "2026-11-30",
    }),
  format: z
    .enum(["json", "csv"])
    .optional()
    .openapi({ description: "`csv` answers text/csv, as does `Accept: text/csv`; JSON otherwise" }),
});

const int = () => z.number().int();
const nullableInt = () => z.number().int().nullable();

const ROW_SCHEMAS = {
  rides: z
    .object({
      date: z.string(),
      requested: int(),
      accepted: int(),
      completed: int(),
      cancelled_by_passenger: int(),
      cancelled_by_driver: int(),
      cancelled_by_system: int(),
      driver_gave_back: int(),
      expired: int(),
      acceptance_rate: z.number().nullable(),
      avg_wait_to_accept_s: nullableInt(),
      avg_wait_to_pickup_s: nullableInt(),
    })
    .openapi("RideReportRow"),
  revenue: z
    .object({
      date: z.string(),
      payment_method: z.enum(REVENUE_METHODS),
      rides_paid: int(),
      gross_fares_cents: int(),
      cancellation_fees_cents: int(),
      commission_cents: int(),
      driver_earnings_cents: int(),
      refunds_cents: int(),
      revenue_cents: int(),
    })
    .openapi("RevenueReportRow"),
  payouts: z
    .object({
      date: z.string(),
      requested: int(),
      amount_cents: int(),
      fees_cents: int(),
      paid: int(),
      paid_amount_cents: int(),
      failed: int(),
      failed_amount_cents: int(),
      in_transit: int(),
      avg_seconds_to_paid: nullableInt(),
    })
    .openapi("PayoutReportRow"),
  drivers: z
    .object({
      date: z.string(),
      active_drivers: int(),
      trips: int(),
      trip_hours: z.number(),
      gave_back: int(),
      cancelled_by_driver: int(),
      online_hours: z.number().openapi({
        description:
          "Hours drivers were online that local day, summed over drivers, 2 decimals. A session belongs to the city whose area held the position the driver went online at; one crossing midnight is split between the days, and one still open counts up to the end of the range or now, whichever is earlier",
        example: 7.5,
      }),
    })
    .openapi("DriverReportRow"),
} as const;

type ReportName = keyof typeof ROW_SCHEMAS;

const DESCRIPTIONS: Record<ReportName, { summary: string; description: string }> = {
  rides: {
    summary: "Rides per day: requested, accepted, completed, cancelled, expired, waits",
    description:
      "Each ride counted on the local day of each of its events. The acceptance rate and the average waits (request to acceptance, request to the driver's arrival) are of the rides requested that day. A driver giving back an accepted ride is `driver_gave_back` (the ride is offered again), not a cancellation.",
  },
  revenue: {
    summary: "Ride money per day and payment method, from the ledger",
    description:
      "From the ledger, dated at the ride's end (refunds at their confirmation). Pix and card: fares and cancellation fees confirmed into clearing, split into commission and driver earnings. Cash: the completed rides' fares (paid to the driver, never in the ledger) and the commission taken from the driver's credit. `revenue_cents` is the net change of the platform's revenue account from the city's rides; payout fees are in the payouts report.",
  },
  payouts: {
    summary: "Drivers' Pix payouts per day of request",
    description:
      "Platform-wide (the city gives the time zone). Each payout on its request's day with its outcome as of now; fees only of payouts that did not fail (a failed payout's fee goes back to the driver).",
  },
  drivers: {
    summary: "Drivers per day: active drivers, trips, trip hours, online hours, cancellations",
    description:
      "`trip_hours` is start to completion of completed trips. `online_hours` comes from a log of every change of a driver's status (going online or offline, a suspension, a cool-down, erasure): a session is counted in the city where the driver went online, split at the city's local midnight, an open one up to the end of the range or now.",
  },
};

const RUN: Record<ReportName, (ctx: ServiceContext, range: ReportRange) => Promise<object[]>> = {
  rides: ridesReport,
  revenue: revenueReport,
  payouts: payoutsReport,
  drivers: driversReport,
};

function reportRoute<N extends ReportName>(name: N) {
  const rows = ROW_SCHEMAS[name];
  const columns = Object.keys(rows.shape);
  return createRoute({
    method: "get",
    path: `/${name}`,
    operationId: `${name}Report`,
    tags: ["Admin"],
    summary: DESCRIPTIONS[name].summary,
    description: `Staff with the \`reports:read\` permission; read only. Days are local dates in the city's time zone, one row per day of the range (zeros on a quiet day). ${DESCRIPTIONS[name].description} As CSV with \`?format=csv\` or \`Accept: text/csv\`: one line per row, columns ${columns.map((c) => `\`${c}\``).join(", ")}; amounts in integer centavos; an empty field is null.`,
    security: [{ bearerAuth: [] }],
    middleware: [requireAuth, requirePermission("reports:read")] as const,
    request: { query: ReportQuerySchema },
    responses: {
      200: {
        description: "The report",
        content: {
          "application/json": {
            schema: z.object({
              city_id: z.string(),
              timezone: z.string().openapi({ example: "America/Sao_Paulo" }),
              from: z.string(),
              to: z.string(),
              rows,
            }),
          },
          "text/csv": { schema: z.string().openapi({ example: `${columns.join(",")}\r\n` }) },
        },
      },
      ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
    },
  });
}

async function answer(c: Context<AppEnv>, name: ReportName, query: z.infer<typeof ReportQuerySchema>) {
  const ctx = c.get("ctx");
  const range = await resolveRange(ctx, query);
  const rows = await RUN[name](ctx, range);
  const csv =
    query.format === "csv" || (!query.format && (c.req.header("accept") ?? "").includes("text/csv"));
  if (csv) {
    const body = toCsv(
      rows as Record<string, string | number | null>[],
      Object.keys(ROW_SCHEMAS[name].shape),
    );
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}-${range.cityId}-${range.from}-${range.to}.csv"`,
    });
  }
  return c.json(
    { city_id: range.cityId, timezone: range.timezone, from: range.from, to: range.to, rows },
    200,
  );
}

export const adminReportRoutes = createRouter()
  .openapi(reportRoute("rides"), (c) => answer(c, "rides", c.req.valid("query")))
  .openapi(reportRoute("revenue"), (c) => answer(c, "revenue", c.req.valid("query")))
  .openapi(reportRoute("payouts"), (c) => answer(c, "payouts", c.req.valid("query")))
  .openapi(reportRoute("drivers"), (c) => answer(c, "drivers", c.req.valid("query")));
