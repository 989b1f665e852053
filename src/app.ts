import * as Sentry from "@sentry/cloudflare";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { contractCheck } from "./http/contract";
import type { AppEnv } from "./http/env";
import { exceptFileUploads } from "./http/file-upload";
import { jsonBodyGuard, requestContext } from "./http/middleware";
import { createRouter } from "./http/router";
import { ConfigError } from "./lib/config";
import { createLogger } from "./lib/logger";
import { ApiError, codeForStatus, PROBLEMS, problemDocument, problemResponse } from "./lib/problem";
import { auditLogRoutes } from "./routes/admin/audit-logs";
import { adminCityRoutes } from "./routes/admin/cities";
import { adminCommissionRoutes } from "./routes/admin/commission";
import { adminDriverRoutes } from "./routes/admin/drivers";
import { adminLedgerRoutes } from "./routes/admin/ledger";
import { adminPaymentRoutes } from "./routes/admin/payments";
import { adminPixRoutes } from "./routes/admin/pix-refund";
import { adminPricingRoutes } from "./routes/admin/pricing";
import { adminReconcileRoutes } from "./routes/admin/reconcile";
import { adminReportRoutes } from "./routes/admin/reports";
import { adminSettlementConfigRoutes } from "./routes/admin/settlement-config";
import { adminSurgeRoutes } from "./routes/admin/surge";
import { adminUserRoutes } from "./routes/admin/users";
import { authRoutes } from "./routes/auth";
import { deviceRoutes } from "./routes/devices";
import { driverDocumentRoutes } from "./routes/driver-documents";
import { driverRoutes } from "./routes/drivers";
import { healthRoutes } from "./routes/health";
import { meRoutes } from "./routes/me";
import { metricsRoutes } from "./routes/metrics";
import { notificationRoutes } from "./routes/notifications";
import { paymentMethodRoutes } from "./routes/payment-methods";
import { paymentRoutes } from "./routes/payments";
import { payoutRoutes } from "./routes/payouts";
import { rideRoutes } from "./routes/rides";
import { OPENAPI_TAGS } from "./routes/tags";
import { walletRoutes } from "./routes/wallet";
import { efiWebhookRoutes } from "./routes/webhooks/efi";
import { userSocketRoutes } from "./routes/ws";

export const MAX_BODY_BYTES = 64 * 1024;

export function createApp() {
  const app = createRouter();

  app.use("*", requestContext);
  app.use("*", contractCheck(app)); // test env only: replies must match the OpenAPI document
  app.use("*", apiHeaders());
  app.use("/v1/*", exceptFileUploads(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => tooLarge() })));
  app.use("/v1/*", exceptFileUploads(jsonBodyGuard));

  app.route("/health", healthRoutes);
  app.route("/metrics", metricsRoutes); // Prometheus scrape, its own token; not in the document
  app.route("/v1/auth", authRoutes);
  app.route("/v1/me", meRoutes);
  app.route("/v1/rides", rideRoutes);
  app.route("/v1/drivers/me/documents", driverDocumentRoutes);
  app.route("/v1/drivers", driverRoutes);
  app.route("/v1/wallet", walletRoutes);
  app.route("/v1/payouts", payoutRoutes);
  app.route("/v1/payment-methods", paymentMethodRoutes);
  app.route("/v1/payments", paymentRoutes);
  app.route("/v1/ws", userSocketRoutes);
  app.route("/v1/devices", deviceRoutes);
  app.route("/v1/notifications", notificationRoutes);
  app.route("/v1/admin/users", adminUserRoutes);
  app.route("/v1/admin/drivers", adminDriverRoutes);
  app.route("/v1/admin/audit-logs", auditLogRoutes);
  app.route("/v1/admin/payments", adminPaymentRoutes);
  app.route("/v1/admin/settlement-config", adminSettlementConfigRoutes);
  app.route("/v1/admin/pricing", adminPricingRoutes);
  app.route("/v1/admin/commission", adminCommissionRoutes);
  app.route("/v1/admin/cities", adminCityRoutes);
  app.route("/v1/admin/surge", adminSurgeRoutes);
  app.route("/v1/admin/ledger", adminLedgerRoutes);
  app.route("/v1/admin/reconcile", adminReconcileRoutes);
  app.route("/v1/admin/pix", adminPixRoutes);
  app.route("/v1/admin/reports", adminReportRoutes);
  app.route("/webhooks/efi", efiWebhookRoutes); // outside /v1: Efí's body, its own secret and body limit

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Mobility edge API",
      version: "0.1.0",
      description:
        "Ride-hailing for Brazil. Errors are `application/problem+json` with a stable `code`; money is integer centavos.",
      contact: { name: "Mobility edge API maintainers" },
    },
    // Relative: the paths are served by the host that serves this document, in every environment.
    servers: [{ url: "/", description: "This host" }],
    tags: OPENAPI_TAGS,
  });
  // The reference and the admin console: static files from Workers Static Assets (build:assets).
  for (const path of ["/docs", "/docs/*", "/admin", "/admin/*"]) app.get(path, serveAsset);

  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, c.req.path);
    // A method the path does serve got here only through a variant the router does not match
    // (a trailing slash): that path is not found, not a wrong method.
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      const doc = problemDocument(
        "method_not_allowed",
        `${c.req.method} is not allowed here; use ${allowed.join(", ")}`,
        { requestId: c.get("requestId") },
      );
      return problemResponse(doc, { allow: allowed.join(", ") });
    }
    const doc = problemDocument("not_found", `No route for ${c.req.method} ${c.req.path}`, {
      requestId: c.get("requestId"),
    });
    return problemResponse(doc);
  });

  app.onError((error, c) => {
    const requestId = c.get("requestId");
    if (error instanceof ApiError) {
      const doc = problemDocument(error.code, error.message, {
        requestId,
        errors: error.errors,
        retryAfter: error.retryAfter,
      });
      return problemResponse(doc, error.headers);
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = codeForStatus(error.status);
      return problemResponse(problemDocument(code, PROBLEMS[code].title, { requestId }));
    }
    const log = createLogger({ request_id: requestId });
    if (error instanceof ConfigError) {
      log.error("misconfigured", { problems: error.problems.join("; ") });
      Sentry.captureException(error); // names what is wrong, never a value
      return problemResponse(
        problemDocument("misconfigured", "The service is not configured correctly", { requestId }),
      );
    }
    log.error("unhandled error", {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    Sentry.captureException(error);
    return problemResponse(
      problemDocument("internal_error", "Something went wrong on our side; quote the request id", {
        requestId,
      }),
    );
  });

  return app;
}

function tooLarge(): never {
  throw new ApiError("payload_too_large", `The body must be at most ${MAX_BODY_BYTES} bytes`);
}

/**
 * CORS for the configured origins only (mobile apps do not need it; admin web tools do), and
 * strict security headers. The API serves no HTML but the reference at /docs and the admin
 * console at /admin, both static files with no inline script or style: they may load scripts,
 * styles, fonts and images from this origin only, and call this origin's API.
 */
function apiHeaders(): MiddlewareHandler<AppEnv> {
  const strict = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  });
  const pages = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      fontSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  });
  return async (c, next) => {
    // The 101 reply to a WebSocket upgrade has immutable headers: leave them alone.
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
    const allowed = c.get("ctx").config.CORS_ALLOWED_ORIGINS;
    const corsMiddleware = cors({
      origin: (origin) => (allowed.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      exposeHeaders: ["x-request-id", "retry-after"],
      maxAge: 600,
    });
    const headers = isPage(c.req.path) ? pages : strict;
    return corsMiddleware(c, async () => {
      await headers(c, next);
    });
  };
}

const isPage = (path: string) => /^\/(docs|admin)(\/|$)/.test(path);

/** A file of the built pages; a path with no file is the API's own 404. */
const serveAsset: MiddlewareHandler<AppEnv> = async (c, next) => {
  const file = await c.env.ASSETS.fetch(c.req.raw);
  if (file.status === 404) return next();
  return new Response(file.body, file);
};

type RouteEntry = { method: string; path: string };
const patternCache = new Map<string, RegExp>();

/** The methods registered for a path, for a 405 with an Allow header instead of a bare 404. */
function allowedMethods(routes: RouteEntry[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL") continue;
    let pattern = patternCache.get(route.path);
    if (!pattern) {
      const source = route.path
        .split("/")
        .map((part) =>
          part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
        )
        .join("/");
      pattern = new RegExp(`^${source}/?$`);
      patternCache.set(route.path, pattern);
    }
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods].sort();
}
