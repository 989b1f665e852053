import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrubEvent } from "../../src/lib/sentry-options";
import { postWebhook } from "../efi-webhook-helpers";
import { call, PASSWORD, registerUser } from "../helpers";
import { requestedRide } from "../ride-helpers";

// One run of the flows that handle secrets, with every console line captured: no token, password,
// webhook secret, metrics token or signing key may appear in any of them, and every request's
// log line carries its request id.

const captured: string[] = [];
const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info };

beforeAll(() => {
  for (const level of ["log", "warn", "error", "info"] as const) {
    console[level] = (...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      originals[level](...args);
    };
  }
});

afterAll(() => {
  Object.assign(console, originals);
});

describe("logs carry no secrets", () => {
  it("after sign-up, sign-in, refresh, socket tickets, rides, webhooks, metrics and refusals", async () => {
    const secrets: string[] = [
      env.EFI_WEBHOOK_HMAC_SECRET,
      env.METRICS_TOKEN,
      env.EFI_CLIENT_SECRET,
      PASSWORD,
      ...env.JWT_SIGNING_KEYS.split(",").map((pair) => pair.slice(pair.indexOf(":") + 1)),
    ];
    const passenger = await registerUser("passenger");
    secrets.push(passenger.accessToken, passenger.refreshToken);

    const login = await call("POST", "/v1/auth/login", {
      body: { email: passenger.email, password: PASSWORD },
      headers: { "cf-connecting-ip": passenger.ip },
    });
    expect(login.status, login.text).toBe(200);
    secrets.push(login.json.access_token, login.json.refresh_token);

    const refreshed = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: login.json.refresh_token },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    secrets.push(refreshed.json.access_token, refreshed.json.refresh_token);
    const ticket = await call("POST", "/v1/ws/ticket", { token: refreshed.json.access_token });
    expect(ticket.status, ticket.text).toBe(201);
    secrets.push(ticket.json.ticket);
    // A socket upgrade with the ticket and one with a token in the URL (refused).
    await call("GET", `/v1/ws?ticket=${encodeURIComponent(ticket.json.ticket)}`, {
      headers: { upgrade: "websocket" },
    });
    await call("GET", `/v1/ws?token=${encodeURIComponent(passenger.accessToken)}`, {
      headers: { upgrade: "websocket" },
    });

    // A rotated token presented again is reuse: refused, and the refusal is logged without it.
    const reused = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: login.json.refresh_token },
    });
    expect(reused.status).toBe(401);

    const { passenger: rider } = await requestedRide();
    secrets.push(rider.accessToken, rider.refreshToken);

    // The webhook with the right secret (malformed body), and with a wrong one.
    expect((await postWebhook({ pix: [] })).status).toBe(400);
    expect((await postWebhook({ pix: [] }, { hmac: `${env.EFI_WEBHOOK_HMAC_SECRET}x` })).status).toBe(401);

    expect(
      (await call("GET", "/metrics", { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })).status,
    ).toBe(200);
    expect(
      (await call("GET", "/metrics", { headers: { authorization: `Bearer ${env.METRICS_TOKEN}x` } })).status,
    ).toBe(401);
    // A bad bearer token on an API route.
    expect((await call("GET", "/v1/me", { token: `${passenger.accessToken}x` })).status).toBe(401);

    const text = captured.join("\n");
    expect(captured.length).toBeGreaterThan(10);
    const leaked = secrets.filter((secret) => secret && text.includes(secret));
    expect(leaked.map((s) => `${s.slice(0, 6)}…`)).toEqual([]);

    const requestLines = captured
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .filter((line) => line?.msg === "request");
    expect(requestLines.length).toBeGreaterThan(10);
    expect(requestLines.filter((line) => typeof line?.request_id !== "string")).toEqual([]);
    // Paths are logged without their query: the webhook's hmac never reaches a log line.
    expect(requestLines.some((line) => line?.path === "/webhooks/efi/pix")).toBe(true);
  });
});

describe("Sentry events are scrubbed before they leave", () => {
  it("drops the webhook secret, socket tickets and bearer tokens wherever they sit", () => {
    const event = {
      request: {
        url: `https://api.example/webhooks/efi/pix?hmac=${env.EFI_WEBHOOK_HMAC_SECRET}&ignorar=`,
        query_string: `hmac=${env.EFI_WEBHOOK_HMAC_SECRET}&ignorar=`,
        headers: {
          authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc-DEF_123",
          "sec-websocket-protocol": "bearer, eyJ.x.y",
        },
      },
      breadcrumbs: [{ data: { url: "https://api.example/v1/ws?ticket=tkt_secret123&x=1" } }],
    };
    const text = JSON.stringify(scrubEvent(event));
    expect(text).not.toContain(env.EFI_WEBHOOK_HMAC_SECRET);
    expect(text).not.toContain("eyJhbGciOiJIUzI1NiJ9");
    expect(text).not.toContain("eyJ.x.y");
    expect(text).not.toContain("tkt_secret123");
    expect(text).toContain("hmac=[redacted]");
    expect(text).toContain("ignorar=");
  });
});
