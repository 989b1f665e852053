/**
 * Reads the Workers Analytics Engine dataset back through Cloudflare's SQL API, for the few
 * request-level series Prometheus alerts on (5xx share, accept latency). Without an account id
 * and token (local development, tests) there is nothing to read and the series are left out.
 */
export interface AnalyticsSqlOptions {
  accountId: string;
  token: string;
  dataset: string;
  fetch?: typeof fetch;
}

export interface RecentRequests {
  /** Requests in the window by status class (`2xx` … `5xx`), sample-weighted. */
  byClass: Record<string, number>;
  /** 99th percentile of `POST /v1/rides/:id/accept` in seconds; null without any. */
  acceptP99Seconds: number | null;
}

const WINDOW_MINUTES = 5;
const ACCEPT_ROUTE = "/v1/rides/:id/accept";

async function query<T>(options: AnalyticsSqlOptions, sqlText: string): Promise<T[]> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(
    `https://api.cloudflare.com/client/v4/accounts/${options.accountId}/analytics_engine/sql`,
    { method: "POST", headers: { authorization: `Bearer ${options.token}` }, body: sqlText },
  );
  if (!response.ok) throw new Error(`analytics engine SQL answered ${response.status}`);
  const body = (await response.json()) as { data?: T[] };
  return body.data ?? [];
}

/** The last five minutes of request points: counts by status class and the accept p99. */
export async function recentRequests(options: AnalyticsSqlOptions): Promise<RecentRequests> {
  if (!/^[a-z0-9_]+$/i.test(options.dataset)) throw new Error("dataset name must be an identifier");
  const where = `index1 = 'request' AND timestamp > NOW() - INTERVAL '${WINDOW_MINUTES}' MINUTE`;
  const [classes, accept] = await Promise.all([
    query<{ status_class: string; n: number | string }>(
      options,
      `SELECT concat(substring(blob4, 1, 1), 'xx') AS status_class, SUM(_sample_interval) AS n FROM ${options.dataset} WHERE ${where} GROUP BY status_class FORMAT JSON`,
    ),
    query<{ p99_ms: number | string | null; n: number | string }>(
      options,
      `SELECT quantileExactWeighted(0.99)(double2, _sample_interval) AS p99_ms, SUM(_sample_interval) AS n FROM ${options.dataset} WHERE ${where} AND blob2 = '${ACCEPT_ROUTE}' AND blob3 = 'POST' FORMAT JSON`,
    ),
  ]);
  const byClass: Record<string, number> = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
  for (const row of classes) byClass[row.status_class] = Number(row.n);
  const acceptRow = accept[0];
  const acceptP99Seconds = acceptRow && Number(acceptRow.n) > 0 ? Number(acceptRow.p99_ms) / 1000 : null;
  return { byClass, acceptP99Seconds };
}
