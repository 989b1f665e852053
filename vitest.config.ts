import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd on the real wrangler.toml and migrations. Secrets are test-only values
// given here, so a fresh clone without .dev.vars runs the same suite as CI.
const migrations = await readD1Migrations("./migrations");
// The Efí sandbox (sandbox/efi) keeps its state in a database of its own, built the same way.
const efiSandboxMigrations = await readD1Migrations("./sandbox/efi/migrations");

/** A value of .dev.vars.example (its dev-only keys serve the tests too). */
function devVar(name: string): string {
  const match = readFileSync("./.dev.vars.example", "utf8").match(new RegExp(`^${name}="(.*)"$`, "m"));
  if (!match?.[1]) throw new Error(`.dev.vars.example has no ${name}`);
  return match[1];
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        d1Databases: ["EFI_SANDBOX_DB"],
        // Notification jobs go to a queue nobody consumes: a consumer running in the background
        // would write inbox rows in the middle of other tests (the security suite compares every
        // table before and after a refused request). Tests that exercise notifications capture
        // the jobs and deliver them to the consumer themselves (test/notification-helpers.ts).
        queueProducers: { NOTIFICATIONS_QUEUE: { queueName: "notifications-test-sink" } },
        bindings: {
          APP_ENV: "test",
          JWT_SIGNING_KEYS:
            "test-current:test-current-signing-key-0123456789abcdef,test-previous:test-previous-signing-key-0123456789abcdef",
          CPF_ENCRYPTION_KEY: "dGVzdC1jcGYtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
          CPF_HASH_KEY: "dGVzdC1jcGYtaGFzaC1rZXktMDAwMDAwMDAwMDAwMDA=",
          SENTRY_DSN: "",
          // Efí: test/setup.ts routes this host to the in-process sandbox.
          EFI_PIX_BASE_URL: "http://efi.sandbox.test",
          EFI_CARD_BASE_URL: "http://efi.sandbox.test",
          EFI_CLIENT_ID: "Client_Id_platform_test",
          EFI_CLIENT_SECRET: "Client_Secret_platform_test",
          EFI_PIX_KEY: "5f84a4c5-c5cb-4599-9f13-7eb4d419dacc",
          EFI_WEBHOOK_HMAC_SECRET: "test-efi-webhook-hmac-0123456789abcdef",
          METRICS_TOKEN: "test-metrics-token-0123456789abcdef0123",
          EFI_RETRY_ATTEMPTS: "3",
          PUBLIC_BASE_URL: "http://api.test",
          // The local rail settles payouts at once; test/money/efi-payouts.test.ts swaps in Efí's.
          PAYOUT_RAIL: "local",
          // FCM: test/push-network.ts routes this host to an in-process push emulator (sandbox/push)
          // that checks signatures against the public half of the dev key in .dev.vars.example.
          FCM_PROJECT_ID: "mobility-test",
          FCM_CLIENT_EMAIL: "push-test@mobility-test.iam.gserviceaccount.com",
          FCM_PRIVATE_KEY: devVar("FCM_PRIVATE_KEY"),
          FCM_OAUTH_URL: "http://fcm.sandbox.test/token",
          FCM_BASE_URL: "http://fcm.sandbox.test",
          // The fuzz suite's knobs (test/fuzz): runs per property and the seed; empty means its defaults.
          FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
          FUZZ_SEED: process.env.FUZZ_SEED ?? "",
          TEST_MIGRATIONS: migrations,
          EFI_SANDBOX_MIGRATIONS: efiSandboxMigrations,
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    // Request log lines are printed only for failing tests.
    silent: "passed-only",
    // Bounds a hang, not a speed: tests assert behaviour, and a loaded 2-core CI machine is slow
    // (51 PBKDF2 logins in one rate-limit test take seconds).
    testTimeout: 30_000,
    // Vitest's default (cores - 1) runs one file at a time on two cores. Every file starts a
    // workerd of its own, seconds spent mostly waiting, so more files at once than cores use a
    // 2-core machine better: the suite took 1,044 s one at a time, 861 s two and 712 s three at a
    // time there (without coverage), every file passing each time.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    coverage: {
      provider: "istanbul",
      include: ["src/**/*.ts"],
      exclude: ["src/worker-configuration.d.ts"],
      reporter: ["text-summary", "text"],
      thresholds: { lines: 80 },
    },
  },
});
