import type { Logger } from "./logger";

/**
 * One data point of the Analytics Engine dataset. Every point has the same layout, so one SQL
 * query shape reads them all: `index1` and `blob1` are the event name, `blob2`–`blob5` its
 * dimensions ("" when it has fewer), `blob6` the Workers version id (so a rollout step can be
 * judged on the new version alone), `double1` is 1 (a count; sum `_sample_interval` for
 * totals), `double2` and `double3` its values. The layout per event is in `docs/operations.md`; change both together.
 */
export type MetricEvent =
  | { event: "request"; route: string; method: string; status: number; colo: string; durationMs: number }
  | { event: "ride_transition"; action: string; status: string; category: string; seconds?: number }
  | { event: "accept"; outcome: string; category: string; msSinceRequest?: number }
  | { event: "dispatch"; stage: string; category: string; offers?: number; msToAccept?: number }
  | { event: "payment"; stage: string; method: string; purpose: string; amountCents?: number; ms?: number }
  | { event: "payout"; stage: string; rail: string; amountCents?: number }
  | { event: "queue"; queue: string; result: string; messages: number }
  | { event: "dlq"; queue: string; messages: number }
  | { event: "push"; result: string; platform: string }
  | { event: "ledger_check"; result: string; breaches: number };

export interface Metrics {
  /** Writes one point; never throws and never waits (Analytics Engine batches in the runtime). */
  record(point: MetricEvent): void;
}

/** What `writeDataPoint` takes, as Workers Analytics Engine defines it. */
export interface MetricsDataset {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

type Row = { blobs: string[]; doubles: number[] };

function rowOf(point: MetricEvent): Row {
  const n = (value: number | undefined) => value ?? 0;
  switch (point.event) {
    case "request":
      return {
        blobs: [point.route, point.method, String(point.status), point.colo],
        doubles: [point.durationMs, point.status],
      };
    case "ride_transition":
      return { blobs: [point.action, point.status, point.category], doubles: [n(point.seconds)] };
    case "accept":
      return { blobs: [point.outcome, point.category], doubles: [n(point.msSinceRequest)] };
    case "dispatch":
      return { blobs: [point.stage, point.category], doubles: [n(point.offers), n(point.msToAccept)] };
    case "payment":
      return {
        blobs: [point.stage, point.method, point.purpose],
        doubles: [n(point.amountCents), n(point.ms)],
      };
    case "payout":
      return { blobs: [point.stage, point.rail], doubles: [n(point.amountCents)] };
    case "queue":
      return { blobs: [point.queue, point.result], doubles: [point.messages] };
    case "dlq":
      return { blobs: [point.queue], doubles: [point.messages] };
    case "push":
      return { blobs: [point.result, point.platform], doubles: [] };
    case "ledger_check":
      return { blobs: [point.result], doubles: [point.breaches] };
  }
}

/** Metrics into an Analytics Engine dataset; without one (local development, tests) a no-op. */
export function createMetrics(dataset: MetricsDataset | undefined, log: Logger, version = ""): Metrics {
  if (!dataset) return { record: () => {} };
  return {
    record(point) {
      try {
        const row = rowOf(point);
        dataset.writeDataPoint({
          indexes: [point.event],
          blobs: [point.event, ...[0, 1, 2, 3].map((i) => row.blobs[i] ?? ""), version],
          doubles: [1, ...row.doubles],
        });
      } catch (error) {
        log.warn("metrics: data point not written", { event: point.event, error: String(error) });
      }
    },
  };
}

/** The payment point of a payment row's stage (`ms`: webhook to confirmation). */
export function paymentPoint(
  stage: "created" | "confirmed" | "failed",
  row: { method: string; purpose: string; amountCents: number },
  ms?: number,
): MetricEvent {
  return {
    event: "payment",
    stage,
    method: row.method,
    purpose: row.purpose,
    amountCents: row.amountCents,
    ms,
  };
}
