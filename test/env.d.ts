declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The Efí sandbox's own database (sandbox/efi/migrations applied by test/setup.ts). */
    EFI_SANDBOX_DB: D1Database;
    EFI_SANDBOX_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** Runs per fuzz property (test/fuzz); empty: the suite's default. */
    FUZZ_RUNS: string;
    /** The fuzz suite's seed; empty: its fixed default. */
    FUZZ_SEED: string;
  }
}
