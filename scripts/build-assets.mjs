// `npm run build:assets`: the static pages the Worker serves from Workers Static Assets
// (wrangler.toml [assets]), built from npm packages only, so no page loads anything from elsewhere.
//
//   build/assets/admin/  the admin console: console/index.html, console/console.css and
//                        console/src/main.ts bundled by esbuild
//   build/assets/docs/   the API reference: Scalar's library (@scalar/api-reference, bundled with
//                        its stylesheet by esbuild) started by console/docs/docs.ts on /openapi.json
//
// Neither page has an inline script or style, so both run under a CSP without 'unsafe-inline'.
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FINAL = join(ROOT, "build/assets");
// Built beside the old copy and swapped in at the end, so a server or test reading the old copy
// never sees a half-built directory.
const OUT = `${FINAL}.${process.pid}`;

const common = {
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  legalComments: "linked",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
};

await rm(OUT, { recursive: true, force: true });
await mkdir(join(OUT, "admin"), { recursive: true });
await mkdir(join(OUT, "docs"), { recursive: true });

await build({
  ...common,
  entryPoints: [join(ROOT, "console/src/main.ts")],
  outfile: join(OUT, "admin/console.js"),
  tsconfig: join(ROOT, "console/tsconfig.json"),
});
await copyFile(join(ROOT, "console/index.html"), join(OUT, "admin/index.html"));
await copyFile(join(ROOT, "console/console.css"), join(OUT, "admin/console.css"));

await build({
  ...common,
  entryPoints: [join(ROOT, "console/docs/docs.ts")],
  outdir: join(OUT, "docs"),
  entryNames: "docs",
  assetNames: "[name]-[hash]",
  loader: { ".woff2": "file", ".woff": "file", ".ttf": "file", ".svg": "file", ".png": "file" },
  tsconfig: join(ROOT, "console/tsconfig.json"),
});
await copyFile(join(ROOT, "console/docs/index.html"), join(OUT, "docs/index.html"));

const old = `${FINAL}.old.${process.pid}`;
await rename(FINAL, old).catch(() => {});
await rename(OUT, FINAL);
await rm(old, { recursive: true, force: true });
console.log(`build:assets: ${FINAL}`);
