import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { createLogger } from "../../src/lib/logger";
import { createMetrics, type MetricsDataset } from "../../src/lib/metrics";

type Point = Parameters<MetricsDataset["writeDataPoint"]>[0];

function recording() {
  const points: Point[] = [];
  return { points, dataset: { writeDataPoint: (point: Point) => void points.push(point) } };
}

describe("the metrics port", () => {
  it("writes one point in the documented layout: event, four dimensions, version; count first", () => {
    const { points, dataset } = recording();
    createMetrics(dataset, createLogger(), "v-123").record({
      event: "payout",
      stage: "paid",
      rail: "efi",
      amountCents: 2500,
    });
    expect(points).toEqual([
      { indexes: ["payout"], blobs: ["payout", "paid", "efi", "", "", "v-123"], doubles: [1, 2500] },
    ]);
  });

  it("never throws when the dataset does", () => {
    const failing = {
      writeDataPoint: () => {
        throw new Error("over the limit");
      },
    };
    expect(() =>
      createMetrics(failing, createLogger()).record({ event: "dlq", queue: "payments-dlq", messages: 1 }),
    ).not.toThrow();
  });

  it("is a no-op without a dataset (local development, tests)", () => {
    expect(() =>
      createMetrics(undefined, createLogger()).record({ event: "push", result: "sent", platform: "android" }),
    ).not.toThrow();
  });

  it("the request middleware writes one point per request, labelled by route pattern", async () => {
    const { points, dataset } = recording();
    const app = createApp();
    const bindings = { ...env, METRICS: dataset } as unknown as Env;
    await app.fetch(new Request("http://api.test/health"), bindings);
    await app.fetch(new Request("http://api.test/v1/rides/ride_SOMEID/nothing-here"), bindings);
    const requests = points.filter((p) => p?.indexes?.[0] === "request");
    expect(requests).toHaveLength(2);
    expect(requests[0]?.blobs?.slice(0, 5)).toEqual(["request", "/health", "GET", "200", "unknown"]);
    expect(requests[0]?.doubles?.[2]).toBe(200);
    // An unknown path never becomes a label of its own.
    expect(requests[1]?.blobs?.slice(1, 4)).toEqual(["unmatched", "GET", "404"]);
  });
});
