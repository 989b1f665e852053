import { recentRequests } from "../../integrations/analytics-sql";
import { histogramSamples, type MetricFamily } from "../../lib/prometheus-text";
import type { ServiceContext } from "../context";
import { checkLedger } from "../ledger/check";
import { LEDGER_INVARIANTS } from "../ledger/invariants";

const ACTIVE_RIDE_STATUSES = ["requested", "accepted", "arrived", "in_progress"] as const;
/** Trip durations, seconds: 5, 10, 15, 20, 30, 45, 60 and 90 minutes. */
export const RIDE_DURATION_BUCKETS = [300, 600, 900, 1200, 1800, 2700, 3600, 5400] as const;
/** How far back the webhook-to-confirmation percentile looks. */
const CONFIRM_WINDOW_MS = 15 * 60 * 1000;

type Count = { key: string | null; n: number };
type Oldest = { n: number; oldest: string | null };

const ageSeconds = (now: Date, oldest: string | null) =>
  oldest ? Math.max(0, (now.getTime() - Date.parse(oldest)) / 1000) : 0;

/** The value below which `q` of the sorted values fall (nearest rank); 0 without values. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/**
 * What Prometheus scrapes from `GET /metrics`, read from D1 now: one batch of aggregate queries
 * (one round trip), plus the ledger check. Counters are counts of rows that are never deleted
 * (rides, completed rides), so they only grow.
 */
export async function scrapeMetrics(
  ctx: ServiceContext,
  version: { id: string; tag: string },
): Promise<MetricFamily[]> {
  const now = ctx.now();
  const since = new Date(now.getTime() - CONFIRM_WINDOW_MS).toISOString();
  const bucketSums = RIDE_DURATION_BUCKETS.map(
    (b) => `SUM(CASE WHEN d <= ${b} THEN 1 ELSE 0 END) AS b${b}`,
  ).join(", ");
  const db = ctx.env.DB;
  const statements = [
    db.prepare(
      "SELECT status AS key, COUNT(*) AS n FROM rides WHERE status IN ('requested', 'accepted', 'arrived', 'in_progress') GROUP BY status",
    ),
    db.prepare("SELECT category AS key, COUNT(*) AS n FROM rides GROUP BY category"),
    db.prepare(
      "SELECT category AS key, COUNT(*) AS n FROM rides WHERE status = 'completed' GROUP BY category",
    ),
    db.prepare(
      `SELECT COUNT(*) AS n, COALESCE(SUM(d), 0) AS total, ${bucketSums} FROM (SELECT (julianday(completed_at) - julianday(started_at)) * 86400.0 AS d FROM rides WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL)`,
    ),
    db.prepare(
      "SELECT COALESCE(vehicle_category, 'none') AS key, COUNT(*) AS n FROM drivers WHERE status = 'online' GROUP BY 1",
    ),
    db.prepare("SELECT NULL AS key, COUNT(*) AS n FROM payments WHERE method = 'pix' AND status = 'pending'"),
    db.prepare("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM payouts WHERE status = 'in_transit'"),
    db.prepare(
      "SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM webhook_events WHERE status = 'received'",
    ),
    db.prepare("SELECT queue AS key, COUNT(*) AS n FROM dead_letters GROUP BY queue"),
    db.prepare("SELECT NULL AS key, COUNT(*) AS n FROM webhook_events WHERE status = 'flagged'"),
    db
      .prepare(
        "SELECT (julianday(processed_at) - julianday(received_at)) * 86400.0 AS s FROM webhook_events WHERE kind = 'pix_received' AND status = 'processed' AND processed_at >= ? ORDER BY s",
      )
      .bind(since),
  ];
  const results = (await db.batch(statements)).map((result) => result.results as Record<string, unknown>[]);
  const rows = <T>(i: number) => (results[i] ?? []) as T[];
  const active = rows<Count>(0);
  const created = rows<Count>(1);
  const completed = rows<Count>(2);
  const online = rows<Count>(4);
  const pix = rows<Count>(5);
  const dead = rows<Count>(8);
  const flagged = rows<Count>(9);
  const durations = rows<Record<string, number | null>>(3);
  const payouts = rows<Oldest>(6);
  const waiting = rows<Oldest>(7);
  const confirms = rows<{ s: number }>(10);
  const [ledger, requests] = await Promise.all([checkLedger(ctx, { now }), requestSeries(ctx)]);

  const byKey = (rows: Count[], label: string) =>
    rows.map((row) => ({ labels: { [label]: row.key ?? "none" }, value: Number(row.n) }));
  const countIn = (rows: Count[]) => Number(rows[0]?.n ?? 0);
  const activeCounts = new Map(active.map((row) => [row.key, Number(row.n)]));
  const duration = durations[0] ?? {};
  const breachesByInvariant = new Map<string, number>();
  for (const breach of ledger.breaches) {
    breachesByInvariant.set(breach.invariant, (breachesByInvariant.get(breach.invariant) ?? 0) + 1);
  }

  return [
    {
      name: "rides_active",
      help: "Rides not yet ended, by status.",
      type: "gauge",
      samples: ACTIVE_RIDE_STATUSES.map((status) => ({
        labels: { status },
        value: activeCounts.get(status) ?? 0,
      })),
    },
    {
      name: "rides_created_total",
      help: "Rides requested, by category.",
      type: "counter",
      samples: byKey(created, "category"),
    },
    {
      name: "rides_completed_total",
      help: "Rides completed, by category.",
      type: "counter",
      samples: byKey(completed, "category"),
    },
    {
      name: "ride_duration_seconds",
      help: "Trip duration of completed rides, from start to completion.",
      type: "histogram",
      samples: histogramSamples(
        RIDE_DURATION_BUCKETS,
        RIDE_DURATION_BUCKETS.map((b) => Number(duration[`b${b}`] ?? 0)),
        Number(duration.n ?? 0),
        Number(duration.total ?? 0),
      ),
    },
    {
      name: "drivers_online",
      help: "Drivers online, by vehicle category.",
      type: "gauge",
      samples: byKey(online, "category"),
    },
    {
      name: "pix_charges_pending",
      help: "Pix payments waiting to be paid.",
      type: "gauge",
      samples: [{ value: countIn(pix) }],
    },
    {
      name: "payouts_in_transit",
      help: "Payouts sent and not yet confirmed or failed.",
      type: "gauge",
      samples: [{ value: Number(payouts[0]?.n ?? 0) }],
    },
    {
      name: "payouts_in_transit_oldest_age_seconds",
      help: "Age of the oldest payout in transit; 0 when none.",
      type: "gauge",
      samples: [{ value: ageSeconds(now, payouts[0]?.oldest ?? null) }],
    },
    {
      name: "webhook_items_waiting",
      help: "Efí webhook items stored and not yet processed.",
      type: "gauge",
      samples: [{ value: Number(waiting[0]?.n ?? 0) }],
    },
    {
      name: "webhook_items_waiting_oldest_age_seconds",
      help: "Age of the oldest unprocessed webhook item; 0 when none.",
      type: "gauge",
      samples: [{ value: ageSeconds(now, waiting[0]?.oldest ?? null) }],
    },
    {
      name: "payment_webhook_to_confirmed_p99_seconds",
      help: "99th percentile of webhook receipt to confirmed payment, over the last 15 minutes; 0 without payments.",
      type: "gauge",
      samples: [
        {
          value: quantile(
            confirms.map((row) => Number(row.s)),
            0.99,
          ),
        },
      ],
    },
    {
      name: "dead_letters",
      help: "Messages kept in dead_letters, by queue.",
      type: "gauge",
      samples: byKey(dead, "queue"),
    },
    {
      name: "payments_flagged",
      help: "Webhook items flagged for a person (nothing credited).",
      type: "gauge",
      samples: [{ value: countIn(flagged) }],
    },
    {
      name: "ledger_check_breaches",
      help: "Ledger invariant breaches found now, by invariant; 0 is healthy.",
      type: "gauge",
      samples: LEDGER_INVARIANTS.map((invariant) => ({
        labels: { invariant },
        value: breachesByInvariant.get(invariant) ?? 0,
      })),
    },
    ...requests,
    {
      name: "build_info",
      help: "The running version (Workers version id and tag) and environment.",
      type: "gauge",
      samples: [
        { labels: { version: version.id, tag: version.tag, environment: ctx.config.APP_ENV }, value: 1 },
      ],
    },
  ];
}

/**
 * Request series read back from Analytics Engine (5xx share, accept latency): left out when it is
 * not configured (local development, tests) or does not answer, which the scrape survives.
 */
async function requestSeries(ctx: ServiceContext): Promise<MetricFamily[]> {
  const {
    ANALYTICS_ACCOUNT_ID: accountId,
    ANALYTICS_API_TOKEN: token,
    ANALYTICS_DATASET: dataset,
  } = ctx.config;
  if (!accountId || !token || !dataset) return [];
  try {
    const recent = await recentRequests({ accountId, token, dataset });
    return [
      {
        name: "http_requests_recent",
        help: "Requests in the last 5 minutes by status class (Analytics Engine, sample-weighted).",
        type: "gauge",
        samples: Object.entries(recent.byClass).map(([status_class, value]) => ({
          labels: { status_class },
          value,
        })),
      },
      {
        name: "ride_accept_latency_p99_seconds",
        help: "99th percentile latency of POST /v1/rides/{id}/accept over the last 5 minutes.",
        type: "gauge",
        samples: recent.acceptP99Seconds === null ? [] : [{ value: recent.acceptP99Seconds }],
      },
    ];
  } catch (error) {
    ctx.log.warn("metrics: analytics engine not read", { error: String(error) });
    return [];
  }
}
