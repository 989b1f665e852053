import { defineConfig } from "drizzle-kit";

// drizzle-kit only writes SQL here; `wrangler d1 migrations apply` is the one migration runner.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
