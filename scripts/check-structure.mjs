// `npm run check:structure`: the layering rules of src/, checked on every CI run.
//
// 1. No import circle in src/ (madge). Type-only imports count: a circle of types still ties
//    two modules together (one cannot be moved, split or read without the other), and the
//    ports that break a circle (RideRoomPort, Publish) are exactly what such a circle asks for.
// 2. No upward import: src/lib/ is the bottom and imports no other layer of ours; services
//    import neither the entry points (routes, http, objects, queues, cron, the composition root)
//    nor Hono, so they run the same from a request, a queue, a cron job or a Durable Object.
// 3. No file in src/ over 300 lines unless it says why, in a comment containing
//    "longer than 300 lines because". src/worker-configuration.d.ts is generated and skipped.
//
// Each finding is printed with its path; the exit status is 1 when there is any.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");
const MAX_LINES = 300;
const REASON = "longer than 300 lines because";
const SKIPPED = new Set(["src/worker-configuration.d.ts"]);

/** Layers (by first path segment under src/, or file name for top-level files) each may not import. */
const FORBIDDEN = {
  lib: ["services", "http", "routes", "objects", "queues", "cron", "composition", "app", "index"],
  services: ["routes", "http", "objects", "queues", "cron", "composition", "app", "index"],
};
/** Packages a layer may not import: Hono is the HTTP layer's business. */
const FORBIDDEN_PACKAGES = {
  services: [/^hono($|\/)/, /^@hono\//],
};

const posix = (path) => path.split(sep).join("/");

function sourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** The layer of a path under src/: `lib`, `services`, ... or `composition`, `app`, `index`. */
function layerOf(absolutePath) {
  const [first, ...rest] = posix(relative(SRC, absolutePath)).split("/");
  if (!first || first === "..") return null;
  return rest.length === 0 ? first.replace(/(\.d)?\.ts$/, "") : first;
}

function upwardImports(file, text) {
  const layer = layerOf(file);
  const findings = [];
  // The compiler's own scanner: static, dynamic, re-export and type-only imports alike.
  const { importedFiles } = ts.preProcessFile(text, true, true);
  for (const { fileName: specifier } of importedFiles) {
    const where = `${posix(relative(ROOT, file))} imports "${specifier}"`;
    if (specifier.startsWith(".")) {
      const target = layerOf(resolve(dirname(file), specifier));
      if (target && target !== layer && FORBIDDEN[layer]?.includes(target)) {
        findings.push(`upward import: ${where} (src/${layer} may not import src/${target})`);
      }
    } else if (FORBIDDEN_PACKAGES[layer]?.some((pattern) => pattern.test(specifier))) {
      findings.push(`upward import: ${where} (src/${layer} may not import Hono)`);
    }
  }
  return findings;
}

function lineCount(text) {
  const lines = text.split("\n").length;
  return text.endsWith("\n") ? lines - 1 : lines;
}

function longFile(file, text) {
  const path = posix(relative(ROOT, file));
  if (SKIPPED.has(path)) return [];
  const lines = lineCount(text);
  if (lines <= MAX_LINES || text.includes(REASON)) return [];
  return [`long file: ${path} has ${lines} lines (over ${MAX_LINES}) and no comment "${REASON} ..."`];
}

async function circles() {
  const graph = await madge(SRC, {
    baseDir: ROOT,
    fileExtensions: ["ts"],
    tsConfig: join(ROOT, "tsconfig.json"),
    excludeRegExp: [/worker-configuration\.d\.ts$/],
  });
  return graph.circular().map((cycle) => `import circle: ${[...cycle, cycle[0]].join(" -> ")}`);
}

const findings = [];
for (const file of sourceFiles(SRC)) {
  const text = readFileSync(file, "utf8");
  findings.push(...upwardImports(file, text), ...longFile(file, text));
}
findings.push(...(await circles()));

if (findings.length > 0) {
  for (const finding of findings) console.error(finding);
  console.error(`check:structure: ${findings.length} finding(s)`);
  process.exit(1);
}
console.log("check:structure: no import circle, no upward import, no unexplained long file");
