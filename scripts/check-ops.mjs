#!/usr/bin/env node
// Validates what CI cannot run: the Grafana dashboards (JSON, each panel on a provisioned data
// source with a query) and the YAML of the GitHub workflows and ops/ configuration (it parses,
// and each workflow job has steps). promtool and amtool check the Prometheus and Alertmanager
// files themselves (.ci/run). Run as `npm run check:ops`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const problems = [];
const read = (path) => readFileSync(path, "utf8");

function yamlOf(path) {
  try {
    return parse(read(path), { strict: true, uniqueKeys: true });
  } catch (error) {
    problems.push(`${path}: ${error.message.split("\n")[0]}`);
    return undefined;
  }
}

const datasources = yamlOf("ops/grafana/provisioning/datasources.yml");
const uids = new Set((datasources?.datasources ?? []).map((d) => d.uid));
yamlOf("ops/grafana/provisioning/dashboards.yml");
yamlOf("ops/prometheus/prometheus.yml");

const dashboardDir = "ops/grafana/dashboards";
const dashboards = readdirSync(dashboardDir).filter((f) => f.endsWith(".json"));
if (dashboards.length < 3)
  problems.push(`${dashboardDir}: expected three dashboards, found ${dashboards.length}`);
const seen = new Set();
for (const file of dashboards) {
  const path = join(dashboardDir, file);
  let dashboard;
  try {
    dashboard = JSON.parse(read(path));
  } catch (error) {
    problems.push(`${path}: ${error.message}`);
    continue;
  }
  if (!dashboard.uid || !dashboard.title) problems.push(`${path}: needs uid and title`);
  if (seen.has(dashboard.uid)) problems.push(`${path}: uid ${dashboard.uid} used twice`);
  seen.add(dashboard.uid);
  if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push(`${path}: no panels`);
  for (const panel of dashboard.panels ?? []) {
    const where = `${path}: panel "${panel.title}"`;
    if (!uids.has(panel.datasource?.uid))
      problems.push(`${where}: data source ${panel.datasource?.uid} is not provisioned`);
    const targets = panel.targets ?? [];
    if (targets.length === 0) problems.push(`${where}: no queries`);
    for (const target of targets) {
      if (!(target.expr || target.query))
        problems.push(`${where}: target ${target.refId} has no expr or query`);
    }
  }
}

const workflowDir = ".github/workflows";
for (const file of readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f))) {
  const path = join(workflowDir, file);
  const workflow = yamlOf(path);
  if (!workflow) continue;
  if (!workflow.on || !workflow.jobs) problems.push(`${path}: needs on and jobs`);
  for (const [name, job] of Object.entries(workflow.jobs ?? {})) {
    if (!job["runs-on"] || !Array.isArray(job.steps) || job.steps.length === 0) {
      problems.push(`${path}: job ${name} needs runs-on and steps`);
    }
    for (const need of [job.needs ?? []].flat()) {
      if (!(need in workflow.jobs)) problems.push(`${path}: job ${name} needs unknown job ${need}`);
    }
  }
}

if (problems.length > 0) {
  console.error(`ops configuration is invalid:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`ops: ${dashboards.length} dashboards and the workflows parse and are complete`);
