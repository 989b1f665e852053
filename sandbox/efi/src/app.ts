import { Hono } from "hono";
import { authRoutes } from "./auth";
import { resolveDeps, type SandboxEnv, type SandboxOptions } from "./context";
import { EfiError, errorResponse, legacy } from "./errors";
import { cardRoutes } from "./routes/cards";
import { cobRoutes } from "./routes/cob";
import { controlRoutes } from "./routes/control";
import { keyOwnerRoutes } from "./routes/key-owners";
import { medRoutes } from "./routes/med";
import { pageRoutes } from "./routes/page";
import { pixRoutes } from "./routes/pix";
import { pixSendRoutes } from "./routes/pix-send";
import { webhookRoutes } from "./routes/webhook";

export type { SandboxOptions } from "./context";

/**
 * The Efí sandbox as a Hono app. The Worker (src/index.ts) builds it from its bindings; the
 * platform's tests build it in-process over `env.EFI_SANDBOX_DB` with a recording `deliver`.
 */
export function createSandbox(options: SandboxOptions) {
  const deps = resolveDeps(options);
  const app = new Hono<SandboxEnv>();

  app.use("*", async (c, next) => {
    const tasks: Array<() => Promise<void>> = [];
    c.set("deps", deps);
    c.set("later", (task) => tasks.push(task));
    c.header("x-request-id", crypto.randomUUID());
    await next();
    if (tasks.length === 0) return;
    const run = (async () => {
      for (const task of tasks) {
        try {
          await task();
        } catch (error) {
          console.error(JSON.stringify({ msg: "efi-sandbox background task failed", error: String(error) }));
        }
      }
    })();
    if (deps.mode === "inline") {
      await run;
      return;
    }
    try {
      c.executionCtx.waitUntil(run);
    } catch {
      // Called without an ExecutionContext (app.fetch(request) in a test): the work still runs.
    }
  });

  // Efí's two hosts served by one worker: Pix (/oauth, /v2, /v3) and Cobranças (/v1).
  app.route("/", authRoutes);
  app.route("/", cobRoutes);
  app.route("/", webhookRoutes);
  app.route("/", pixSendRoutes);
  app.route("/", pixRoutes);
  app.route("/", cardRoutes);
  // The sandbox's own control API and page.
  app.route("/", controlRoutes);
  app.route("/", keyOwnerRoutes);
  app.route("/", medRoutes);
  app.route("/", pageRoutes);
  app.get("/", (c) => c.redirect("/sandbox"));

  app.notFound((c) =>
    errorResponse(
      c,
      legacy(404, "rota_nao_encontrada", `Nenhuma rota ${c.req.method} ${c.req.path} no sandbox`),
    ),
  );
  app.onError((error, c) => {
    if (error instanceof EfiError) return errorResponse(c, error);
    console.error(
      JSON.stringify({
        msg: "efi-sandbox error",
        error: error instanceof Error ? error.stack : String(error),
      }),
    );
    return errorResponse(c, legacy(500, "erro_aplicacao", "Ocorreu um erro interno no sandbox"));
  });
  return app;
}
