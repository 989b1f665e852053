import { createSandbox } from "./app";

/** Bindings and vars of sandbox/efi/wrangler.toml. */
export interface SandboxWorkerEnv {
  EFI_DB: D1Database;
  EFI_CLIENT_ID: string;
  EFI_CLIENT_SECRET: string;
  EFI_PIX_KEY: string;
  EFI_AUTO_PAY_DELAY_MS?: string;
  EFI_SETTLE_DELAY_MS?: string;
  EFI_WEBHOOK_RETRY_DELAYS_MS?: string;
  EFI_ANY_FAVORED_KEY?: string;
}

const number = (raw: string | undefined, fallback: number) => {
  const value = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(value) && value >= 0 ? value : fallback;
};

let app: ReturnType<typeof createSandbox> | undefined;

/** The sandbox Worker: `wrangler dev --config sandbox/efi/wrangler.toml --port 8788`. */
export default {
  fetch(request, env, ctx) {
    app ??= createSandbox({
      db: env.EFI_DB,
      clientId: env.EFI_CLIENT_ID,
      clientSecret: env.EFI_CLIENT_SECRET,
      pixKey: env.EFI_PIX_KEY,
      mode: "background",
      autoPayDelayMs: number(env.EFI_AUTO_PAY_DELAY_MS, 2000),
      settleDelayMs: number(env.EFI_SETTLE_DELAY_MS, 2000),
      retryDelaysMs: env.EFI_WEBHOOK_RETRY_DELAYS_MS?.split(",").map((part) => number(part.trim(), 1000)),
      anyFavoredKey: env.EFI_ANY_FAVORED_KEY === "true",
    });
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<SandboxWorkerEnv>;
