import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Storage is isolated per test file; each file starts from the real migrations.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.EFI_SANDBOX_DB, env.EFI_SANDBOX_MIGRATIONS);

// The platform's Efí calls go to this file's in-process sandbox (test/efi-network.ts).
const { routeEfiToSandbox } = await import("./efi-network");
routeEfiToSandbox();
