#!/usr/bin/env node
// Wrangler inherits neither vars nor bindings into [env.*]: every deployed environment must
// declare again everything the top level (local development) declares, plus what only a
// deployment has (the Efí certificate, the metrics dataset, version metadata). Fails listing
// each gap. Run by CI beside the dry-run builds: `npm run check:environments`.
import { experimental_readRawConfig } from "wrangler";

const { rawConfig } = experimental_readRawConfig({ config: "wrangler.toml" });
const DEPLOYED = ["staging", "production"];

const names = {
  vars: (c) => Object.keys(c.vars ?? {}),
  d1: (c) => (c.d1_databases ?? []).map((d) => d.binding),
  "queue producers": (c) => (c.queues?.producers ?? []).map((q) => q.binding),
  "queue consumers": (c) =>
    (c.queues?.consumers ?? []).map((q) => q.queue.replace(/-(staging|production)$/, "")),
  r2: (c) => (c.r2_buckets ?? []).map((b) => b.binding),
  kv: (c) => (c.kv_namespaces ?? []).map((b) => b.binding),
  "durable objects": (c) => (c.durable_objects?.bindings ?? []).map((b) => b.name),
  crons: (c) => c.triggers?.crons ?? [],
};

const problems = [];
for (const envName of DEPLOYED) {
  const env = rawConfig.env?.[envName];
  if (!env) {
    problems.push(`[env.${envName}] is missing`);
    continue;
  }
  for (const [kind, list] of Object.entries(names)) {
    const have = new Set(list(env));
    for (const name of list(rawConfig))
      if (!have.has(name)) problems.push(`env.${envName}: ${kind} lacks ${name}`);
  }
  if (env.vars?.APP_ENV !== envName) problems.push(`env.${envName}: APP_ENV must be "${envName}"`);
  if (!(env.mtls_certificates ?? []).some((m) => m.binding === "EFI_MTLS")) {
    problems.push(`env.${envName}: no mtls_certificates binding EFI_MTLS`);
  }
  if (!(env.analytics_engine_datasets ?? []).some((a) => a.binding === "METRICS")) {
    problems.push(`env.${envName}: no analytics_engine_datasets binding METRICS`);
  }
  if (env.version_metadata?.binding !== "CF_VERSION_METADATA") {
    problems.push(`env.${envName}: no version_metadata binding CF_VERSION_METADATA`);
  }
  for (const db of env.d1_databases ?? []) {
    if (/^0{8}-/.test(db.database_id ?? ""))
      problems.push(`env.${envName}: D1 ${db.binding} has the all-zero id`);
  }
  if (!env.routes?.length && !env.route) problems.push(`env.${envName}: no route or custom domain`);
}

if (problems.length > 0) {
  console.error(`wrangler.toml environments are incomplete:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`wrangler.toml: ${DEPLOYED.join(" and ")} declare every binding and variable`);
