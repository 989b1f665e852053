import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as Sentry from "@sentry/cloudflare";
import { describe, expect, it } from "vitest";
import devVarsExample from "../../.dev.vars.example?raw";
import { createApp } from "../../src/app";
import { LocalCardProvider } from "../../src/integrations/card/provider";
import { LocalPayoutRail } from "../../src/integrations/payout-rail";
import { readReply } from "../helpers";

// Staging and production refuse to serve with anything that fails open or is publicly known:
// every request answers 503 `misconfigured`, the log line names what is wrong (never a value),
// and Sentry hears of it.

const random = (bytes: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));

/** A complete, honest deployed configuration over the test bindings (D1, Durable Objects, queues). */
function deployedEnv(appEnv: "staging" | "production", overrides: Record<string, unknown> = {}): Env {
  return {
    ...env,
    APP_ENV: appEnv,
    JWT_SIGNING_KEYS: `prod-2026-12:${random(48)}`,
    CPF_ENCRYPTION_KEY: random(32),
    CPF_HASH_KEY: random(32),
    SENTRY_DSN: "https://public@o0.ingest.sentry.io/0",
    EFI_CLIENT_ID: `Client_Id_${random(12)}`,
    EFI_CLIENT_SECRET: `Client_Secret_${random(24)}`,
    EFI_WEBHOOK_HMAC_SECRET: random(32),
    METRICS_TOKEN: random(32),
    EFI_PIX_BASE_URL: "https://pix.api.efipay.com.br",
    EFI_CARD_BASE_URL: "https://cobrancas.api.efipay.com.br",
    PUBLIC_BASE_URL: "https://api.mobility.example",
    EFI_WEBHOOK_ALLOWED_IPS: "34.193.116.226",
    PAYOUT_RAIL: "efi",
    EFI_MTLS: { fetch: () => Promise.reject(new Error("no Efí in this test")) },
    FCM_PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\n${random(64)}\n-----END PRIVATE KEY-----\n`,
    ...overrides,
  } as unknown as Env;
}

const app = createApp();

/**
 * The app wrapped by Sentry as the Worker wires it. Sentry keeps its client for the isolate, so
 * there is one wrapper and one event list, emptied before each request.
 */
const events: Sentry.ErrorEvent[] = [];
const worker = Sentry.withSentry(
  () => ({
    dsn: "https://public@o0.ingest.sentry.io/0",
    // Each case must reach Sentry, even when it repeats the previous case's message.
    integrations: (defaults) => defaults.filter((integration) => integration.name !== "Dedupe"),
    beforeSend: (event: Sentry.ErrorEvent) => {
      events.push(event);
      return null; // recorded here, never sent
    },
  }),
  { fetch: app.fetch } satisfies ExportedHandler<Env>,
);

/** GET /health on the app with these bindings: the reply, what Sentry heard, the error log. */
async function health(bindings: Env) {
  events.length = 0;
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
    original(...args);
  };
  try {
    const ctx = createExecutionContext();
    const response = await worker.fetch?.(new Request("https://api.mobility.example/health"), bindings, ctx);
    if (!response) throw new Error("no response");
    const reply = await readReply(response);
    await waitOnExecutionContext(ctx);
    return { reply, events: [...events], logs: lines.join("\n") };
  } finally {
    console.error = original;
  }
}

async function expectRefused(bindings: Env, names: string, secretValue?: string) {
  const { reply, events, logs } = await health(bindings);
  expect(reply.status, reply.text).toBe(503);
  expect(reply.json).toMatchObject({ code: "misconfigured", status: 503 });
  expect(reply.text).not.toContain(names); // the caller learns nothing about the configuration
  expect(logs).toContain(names);
  expect(events.map((e) => JSON.stringify(e.exception))).toEqual([expect.stringContaining(names)]);
  if (secretValue) {
    expect(logs).not.toContain(secretValue);
    expect(JSON.stringify(events)).not.toContain(secretValue);
  }
}

describe("a deployed configuration", () => {
  for (const appEnv of ["staging", "production"] as const) {
    it(`serves in ${appEnv} when everything is set and real`, async () => {
      const { reply, events } = await health(deployedEnv(appEnv));
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toEqual({ status: "ok", d1: "ok" });
      expect(events).toEqual([]);
    });
  }

  const missing = [
    "JWT_SIGNING_KEYS",
    "CPF_ENCRYPTION_KEY",
    "EFI_CLIENT_SECRET",
    "EFI_WEBHOOK_HMAC_SECRET",
    "METRICS_TOKEN",
    "SENTRY_DSN",
  ];
  for (const name of missing) {
    it(`refuses to serve in production without the secret ${name}`, async () => {
      await expectRefused(deployedEnv("production", { [name]: undefined }), name);
    });
  }

  it("refuses an empty Efí Pix base URL", async () => {
    await expectRefused(deployedEnv("production", { EFI_PIX_BASE_URL: "" }), "EFI_PIX_BASE_URL");
  });

  it("refuses the local sandbox's Efí URL (plain HTTP on loopback)", async () => {
    await expectRefused(
      deployedEnv("production", { EFI_PIX_BASE_URL: "http://127.0.0.1:8788" }),
      "EFI_PIX_BASE_URL",
    );
  });

  it("refuses an empty card API URL in staging: the local provider would approve every charge", async () => {
    await expectRefused(deployedEnv("staging", { EFI_CARD_BASE_URL: "" }), "EFI_CARD_BASE_URL");
  });

  it("refuses an empty webhook IP allowlist (any sender could call the webhook)", async () => {
    await expectRefused(
      deployedEnv("production", { EFI_WEBHOOK_ALLOWED_IPS: "" }),
      "EFI_WEBHOOK_ALLOWED_IPS",
    );
  });

  it("refuses a missing EFI_MTLS certificate binding", async () => {
    await expectRefused(deployedEnv("production", { EFI_MTLS: undefined }), "EFI_MTLS");
  });

  it("refuses the local payout rail (a payout marked paid that sent nothing)", async () => {
    await expectRefused(deployedEnv("staging", { PAYOUT_RAIL: "local" }), "PAYOUT_RAIL");
  });

  it("refuses a short metrics token", async () => {
    await expectRefused(deployedEnv("production", { METRICS_TOKEN: "short" }), "METRICS_TOKEN");
  });
});

/** The secrets `.dev.vars.example` commits, as NAME → value (empty values are not secrets). */
const DEV_SECRETS = [...devVarsExample.matchAll(/^([A-Z_]+)="([^"]+)"$/gm)].map((m) => [m[1], m[2]] as const);

describe("production refuses the committed development secrets", () => {
  it("reads them from .dev.vars.example", () => {
    expect(DEV_SECRETS.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        "JWT_SIGNING_KEYS",
        "CPF_ENCRYPTION_KEY",
        "EFI_WEBHOOK_HMAC_SECRET",
        "METRICS_TOKEN",
      ]),
    );
  });

  for (const [name, value] of DEV_SECRETS) {
    it(`refuses ${name} with its .dev.vars.example value, naming it and never its value`, async () => {
      await expectRefused(deployedEnv("production", { [name as string]: value }), name as string, value);
    });
  }

  it("refuses a development signing key even second in the list (it still verifies tokens)", async () => {
    const dev = DEV_SECRETS.find(([name]) => name === "JWT_SIGNING_KEYS")?.[1];
    await expectRefused(
      deployedEnv("production", { JWT_SIGNING_KEYS: `prod-1:${random(48)},${dev}` }),
      "JWT_SIGNING_KEYS",
    );
  });

  it("refuses the test suite's own secrets", async () => {
    await expectRefused(
      deployedEnv("production", { JWT_SIGNING_KEYS: env.JWT_SIGNING_KEYS }),
      "JWT_SIGNING_KEYS",
    );
    await expectRefused(
      deployedEnv("production", { EFI_WEBHOOK_HMAC_SECRET: env.EFI_WEBHOOK_HMAC_SECRET }),
      "EFI_WEBHOOK_HMAC_SECRET",
    );
  });

  it("development and test keep their local values", async () => {
    const { reply } = await health({ ...env, APP_ENV: "development" } as Env);
    expect(reply.status, reply.text).toBe(200);
  });
});

describe("the local providers refuse to pretend outside development and test", () => {
  const charge = {
    amountCents: 1000,
    paymentToken: "tok_ok",
    customer: {
      name: "A",
      cpf: "52998224725",
      email: "a@example.com",
      phone: "+5511987654321",
      birthDate: "1990-01-01",
    },
    description: "Corrida",
    idempotencyKey: "pay_1:1",
    billingAddress: {
      street: "R",
      number: "1",
      neighborhood: "N",
      zipcode: "01001000",
      city: "SP",
      state: "SP",
    },
  };
  for (const appEnv of ["staging", "production"]) {
    it(`the local card provider approves nothing in ${appEnv}`, async () => {
      await expect(new LocalCardProvider(appEnv).charge(charge)).rejects.toThrow(/charges nobody/);
    });
    it(`the local payout rail sends nothing in ${appEnv}`, async () => {
      await expect(
        new LocalPayoutRail(appEnv).send({
          payoutId: "po_1",
          amountCents: 100,
          pixKey: "x@y.z",
          pixKeyType: "email",
        }),
      ).rejects.toThrow(/does not send money/);
    });
  }
  it("the local card provider still approves in test", async () => {
    await expect(new LocalCardProvider("test").charge(charge)).resolves.toMatchObject({ status: "approved" });
  });
});
