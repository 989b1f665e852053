#!/usr/bin/env node
// `npm run rollout:check -- --dataset <name> --version <id> [--minutes 5] [--max-5xx 0.01]`:
// the error-rate gate between rollout steps. Reads the Analytics Engine dataset (request points,
// whose blob6 is the Workers version id) for the new version's requests in the last minutes and
// fails when more than --max-5xx of them answered 5xx. Needs CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_ANALYTICS_TOKEN (Account Analytics: Read). Too few requests to judge is a pass
// with a warning: the smoke test of the same step has already exercised the version.

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const dataset = arg("dataset");
const version = arg("version");
const minutes = Number(arg("minutes", "5"));
const max5xx = Number(arg("max-5xx", "0.01"));
const minRequests = Number(arg("min-requests", "50"));
const { CLOUDFLARE_ACCOUNT_ID: account, CLOUDFLARE_ANALYTICS_TOKEN: token } = process.env;

if (!dataset || !version || !account || !token) {
  console.error(
    "usage: CLOUDFLARE_ACCOUNT_ID=… CLOUDFLARE_ANALYTICS_TOKEN=… npm run rollout:check -- --dataset <name> --version <id>",
  );
  process.exit(2);
}
if (!/^[a-z0-9_]+$/i.test(dataset) || !/^[a-z0-9-]+$/i.test(version) || !Number.isInteger(minutes)) {
  console.error("rollout:check: dataset, version or minutes is malformed");
  process.exit(2);
}

const sql = `SELECT SUM(_sample_interval) AS total, SUM(IF(double3 >= 500, _sample_interval, 0)) AS errors FROM ${dataset} WHERE index1 = 'request' AND blob6 = '${version}' AND timestamp > NOW() - INTERVAL '${minutes}' MINUTE FORMAT JSON`;
const response = await fetch(
  `https://api.cloudflare.com/client/v4/accounts/${account}/analytics_engine/sql`,
  {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: sql,
    signal: AbortSignal.timeout(30_000),
  },
);
if (!response.ok) {
  console.error(`rollout:check: Analytics Engine answered ${response.status}`);
  process.exit(1);
}
const row = (await response.json()).data?.[0] ?? {};
const total = Number(row.total ?? 0);
const errors = Number(row.errors ?? 0);
if (total < minRequests) {
  console.warn(
    `rollout:check: ${total} requests on ${version} in ${minutes} min, fewer than ${minRequests}: not judged`,
  );
  process.exit(0);
}
const share = errors / total;
const summary = `${errors} of ${total} requests on ${version} answered 5xx (${(share * 100).toFixed(2)} %, limit ${(max5xx * 100).toFixed(2)} %)`;
if (share > max5xx) {
  console.error(`rollout:check: FAILED: ${summary}`);
  process.exit(1);
}
console.log(`rollout:check: ok: ${summary}`);
