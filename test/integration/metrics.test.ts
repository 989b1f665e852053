import { env } from "cloudflare:workers";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { LocalPayoutRail } from "../../src/integrations/payout-rail";
import { requestPayout } from "../../src/services/payouts/request";
import { call, expectProblem, registerUser, unique } from "../helpers";
import { fund, insertCompletedRide } from "../money-helpers";
import { allowPayoutsTo } from "../payout-key-helpers";
import { onlineDriver, requestedRide } from "../ride-helpers";

const TOKEN = env.METRICS_TOKEN;

async function scrape(): Promise<Map<string, ParsedFamily>> {
  const reply = await call("GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(reply.status, reply.text).toBe(200);
  expect(reply.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const families = parsePrometheusTextFormat(reply.text);
  return new Map(families.map((family) => [family.name, family]));
}

/** The value of the family's sample whose labels include `labels` (0 when there is none). */
function value(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (!family) throw new Error(`no family ${name}`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(sample?.value ?? 0);
}

function histogram(families: Map<string, ParsedFamily>, name: string) {
  const sample = families.get(name)?.metrics[0];
  if (!sample?.buckets) throw new Error(`no histogram ${name}`);
  return { count: Number(sample.count), sum: Number(sample.sum), buckets: sample.buckets };
}

describe("GET /metrics: who may scrape", () => {
  const refusals: [string, Record<string, string>][] = [
    ["no token", {}],
    ["a wrong token of the same length", { authorization: `Bearer ${"x".repeat(TOKEN.length)}` }],
    ["the token with one character more", { authorization: `Bearer ${TOKEN}x` }],
    ["the token without the Bearer scheme", { authorization: TOKEN }],
    ["an empty bearer", { authorization: "Bearer " }],
  ];
  for (const [name, headers] of refusals) {
    it(`refuses ${name} with 401 and reveals nothing`, async () => {
      const reply = await call("GET", "/metrics", { headers });
      expectProblem(reply, 401, "authentication_required");
      expect(reply.headers.get("www-authenticate")).toContain("Bearer");
      expect(reply.text).not.toContain("rides_active");
    });
  }

  it("refuses a user's access token, even an admin's: the scrape token is its own", async () => {
    const user = await registerUser("passenger");
    const reply = await call("GET", "/metrics", { token: user.accessToken });
    expectProblem(reply, 401, "authentication_required");
  });

  it("refuses the token in the query string", async () => {
    const reply = await call("GET", `/metrics?token=${TOKEN}`);
    expectProblem(reply, 401, "authentication_required");
  });

  it("is not an operation of the public API document", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(Object.keys(doc.json.paths)).not.toContain("/metrics");
  });
});

describe("GET /metrics: what it reports", () => {
  it("parses as the Prometheus text format, with every family typed", async () => {
    const families = await scrape();
    const types = Object.fromEntries([...families].map(([name, f]) => [name, f.type]));
    expect(types).toMatchObject({
      rides_active: "GAUGE",
      rides_created_total: "COUNTER",
      rides_completed_total: "COUNTER",
      ride_duration_seconds: "HISTOGRAM",
      drivers_online: "GAUGE",
      pix_charges_pending: "GAUGE",
      payouts_in_transit: "GAUGE",
      payouts_in_transit_oldest_age_seconds: "GAUGE",
      webhook_items_waiting: "GAUGE",
      webhook_items_waiting_oldest_age_seconds: "GAUGE",
      payment_webhook_to_confirmed_p99_seconds: "GAUGE",
      dead_letters: "GAUGE",
      payments_flagged: "GAUGE",
      ledger_check_breaches: "GAUGE",
      build_info: "GAUGE",
    });
    expect(value(families, "build_info", { environment: "test", version: "local" })).toBe(1);
    // A healthy ledger reports every invariant at 0.
    const ledger = families.get("ledger_check_breaches")?.metrics ?? [];
    expect(ledger.length).toBeGreaterThan(0);
    expect(ledger.every((m) => Number(m.value) === 0)).toBe(true);
  });

  it("counts a ride requested through the API, and an online driver", async () => {
    const before = await scrape();
    await requestedRide({ category: "comfort" });
    await onlineDriver("comfort");
    const after = await scrape();
    expect(value(after, "drivers_online", { category: "comfort" })).toBe(
      value(before, "drivers_online", { category: "comfort" }) + 1,
    );
    expect(value(after, "rides_created_total", { category: "comfort" })).toBe(
      value(before, "rides_created_total", { category: "comfort" }) + 1,
    );
    expect(value(after, "rides_active", { status: "requested" })).toBe(
      value(before, "rides_active", { status: "requested" }) + 1,
    );
  });

  it("puts a completed ride's trip duration in its bucket", async () => {
    const before = histogram(await scrape(), "ride_duration_seconds");
    const driver = await registerUser("driver");
    const passenger = await registerUser("passenger");
    // The helper's trip starts 15 minutes before it completes.
    await insertCompletedRide(createServiceContext(env), {
      driverId: driver.id,
      passengerId: passenger.id,
      fareCents: 2500,
      method: "cash",
      completedAt: new Date(),
    });
    const families = await scrape();
    const after = histogram(families, "ride_duration_seconds");
    expect(after.count).toBe(before.count + 1);
    const grew = Object.entries(after.buckets)
      .filter(([le, n]) => Number(n) > Number(before.buckets[le]))
      .map(([le]) => le);
    expect(grew.length).toBeGreaterThan(0);
    // Cumulative buckets: +Inf is the count, and no bucket holds more than the next.
    const bounds = Object.keys(after.buckets).sort((a, b) => Number(a) - Number(b));
    for (let i = 1; i < bounds.length; i++) {
      expect(Number(after.buckets[bounds[i] as string])).toBeGreaterThanOrEqual(
        Number(after.buckets[bounds[i - 1] as string]),
      );
    }
  });

  it("reports a payout stuck in transit with its age", async () => {
    const before = await scrape();
    const driver = await registerUser("driver");
    await fund(5000, driver.id);
    // A rail that cannot send leaves the payout in transit, its money held.
    const ctx = { ...createServiceContext(env), payoutRail: new LocalPayoutRail("production") };
    await allowPayoutsTo(driver.id, "529.982.247-25");
    await requestPayout(ctx, driver.id, { amountCents: 2000, pixKey: "529.982.247-25" });
    await env.DB.prepare("UPDATE payouts SET created_at = ? WHERE driver_id = ?")
      .bind(new Date(Date.now() - 2 * 3600_000).toISOString(), driver.id)
      .run();
    const after = await scrape();
    expect(value(after, "payouts_in_transit")).toBe(value(before, "payouts_in_transit") + 1);
    expect(value(after, "payouts_in_transit_oldest_age_seconds")).toBeGreaterThanOrEqual(7200);
  });

  it("reports dead letters by queue, flagged and waiting webhook items, and webhook-to-confirmed time", async () => {
    const before = await scrape();
    const at = new Date(Date.now() - 600_000).toISOString();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO dead_letters (id, queue, message_id, body, attempts, created_at) VALUES (?, 'payments-dlq', ?, '{}', 9, ?)",
      ).bind(`dlq_${unique()}`, unique(), at),
      env.DB.prepare(
        "INSERT INTO webhook_events (id, kind, end_to_end_id, payload, status, received_at) VALUES (?, 'pix_received', ?, '{}', 'received', ?)",
      ).bind(`whk_${unique()}`, `E${unique()}`, at),
      env.DB.prepare(
        "INSERT INTO webhook_events (id, kind, end_to_end_id, payload, status, detail, received_at, processed_at) VALUES (?, 'pix_received', ?, '{}', 'flagged', 'unknown txid', ?, ?)",
      ).bind(`whk_${unique()}`, `E${unique()}`, at, at),
      // Confirmed 12 s after Efí's notification arrived.
      env.DB.prepare(
        "INSERT INTO webhook_events (id, kind, end_to_end_id, payload, status, received_at, processed_at) VALUES (?, 'pix_received', ?, '{}', 'processed', ?, ?)",
      ).bind(
        `whk_${unique()}`,
        `E${unique()}`,
        new Date(Date.now() - 12_000).toISOString(),
        new Date().toISOString(),
      ),
    ]);
    const after = await scrape();
    expect(value(after, "dead_letters", { queue: "payments-dlq" })).toBe(
      value(before, "dead_letters", { queue: "payments-dlq" }) + 1,
    );
    expect(value(after, "webhook_items_waiting")).toBe(value(before, "webhook_items_waiting") + 1);
    expect(value(after, "webhook_items_waiting_oldest_age_seconds")).toBeGreaterThanOrEqual(600);
    expect(value(after, "payments_flagged")).toBe(value(before, "payments_flagged") + 1);
    expect(value(after, "payment_webhook_to_confirmed_p99_seconds")).toBeGreaterThanOrEqual(11.9);
  });
});
