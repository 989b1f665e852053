import { describe, expect, it } from "vitest";
import { recentRequests } from "../../src/integrations/analytics-sql";

describe("reading request series back from Analytics Engine", () => {
  it("sends the SQL with the account's token and reads classes and the accept p99", async () => {
    const sent: { url: string; auth: string | null; body: string }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      const body = String(init.body);
      sent.push({ url, auth: new Headers(init.headers).get("authorization"), body });
      const data = body.includes("quantileExactWeighted")
        ? [{ p99_ms: 1500, n: 40 }]
        : [
            { status_class: "2xx", n: 990 },
            { status_class: "5xx", n: "10" },
          ];
      return Response.json({ data });
    }) as unknown as typeof fetch;
    const recent = await recentRequests({
      accountId: "acc1",
      token: "tok",
      dataset: "mobility_metrics",
      fetch: fakeFetch,
    });
    expect(recent).toEqual({ byClass: { "2xx": 990, "3xx": 0, "4xx": 0, "5xx": 10 }, acceptP99Seconds: 1.5 });
    expect(sent).toHaveLength(2);
    expect(
      sent.every((s) => s.url === "https://api.cloudflare.com/client/v4/accounts/acc1/analytics_engine/sql"),
    ).toBe(true);
    expect(sent.every((s) => s.auth === "Bearer tok" && s.body.includes("FROM mobility_metrics"))).toBe(true);
  });

  it("reports no accept p99 when nobody accepted in the window", async () => {
    const fakeFetch = (async (_url: string, init: RequestInit) =>
      Response.json({
        data: String(init.body).includes("quantile") ? [{ p99_ms: 0, n: 0 }] : [],
      })) as unknown as typeof fetch;
    const recent = await recentRequests({ accountId: "a", token: "t", dataset: "d", fetch: fakeFetch });
    expect(recent.acceptP99Seconds).toBeNull();
  });

  it("refuses a dataset name that is not an identifier (it is spliced into SQL)", async () => {
    await expect(
      recentRequests({ accountId: "a", token: "t", dataset: "d; DROP", fetch: fetch }),
    ).rejects.toThrow(/identifier/);
  });

  it("fails loudly on an API error instead of reporting zeros", async () => {
    const fakeFetch = (async () => new Response("no", { status: 403 })) as unknown as typeof fetch;
    await expect(
      recentRequests({ accountId: "a", token: "t", dataset: "d", fetch: fakeFetch }),
    ).rejects.toThrow(/403/);
  });
});
