import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { reportedWhenConfigured, type WorkerHandler } from "../../src/lib/sentry-handler";

const SENTRY_HOST = "sentry.invalid";
const DSN = `https://public@${SENTRY_HOST}/1`;
/**
 * Sentry keeps the first client it builds for the isolate, with that invocation's options, so
 * every test here that has a DSN uses these same bindings.
 */
const reporting = () => ({ ...env, SENTRY_DSN: DSN, SENTRY_TRACES_SAMPLE_RATE: "1" }) as Env;

/** A handler that records the bindings it was given and answers as the worker's code decides. */
function recording(answer: () => Promise<Response> = async () => new Response("ok")) {
  const seen: Env[] = [];
  const handler: WorkerHandler = {
    fetch: async (_request, given) => {
      seen.push(given);
      return answer();
    },
    queue: async (_batch, given) => {
      seen.push(given);
    },
    scheduled: async (_controller, given) => {
      seen.push(given);
    },
  };
  return { handler: reportedWhenConfigured(handler), seen };
}

/** Everything sent to the DSN's host while the test runs, as text. */
const sent: string[] = [];
const realFetch = globalThis.fetch;
function captureSentry(): void {
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (new URL(request.url).host !== SENTRY_HOST) return realFetch(request);
    sent.push(await request.text());
    return new Response("{}", { status: 200 });
  }) as typeof fetch;
}
afterEach(() => {
  globalThis.fetch = realFetch;
  sent.length = 0;
});

/**
 * The handler's answer read to its end, as a client reads it (Sentry ends a request's span when
 * the body is consumed), or its error; either once the work it left behind, Sentry's flush
 * included, is done.
 */
async function fetchWith(handler: WorkerHandler, bindings: Env, url = "https://api.test/health") {
  const ctx = createExecutionContext();
  const outcome = await Promise.resolve(handler.fetch(new Request(url), bindings, ctx)).then(
    async (response) => ({ body: await response.text() }),
    (error: unknown) => ({ error }),
  );
  await waitOnExecutionContext(ctx);
  if ("error" in outcome) throw outcome.error;
  return outcome.body;
}

describe("Sentry only where a DSN is configured", () => {
  it("without a DSN the request reaches the Worker with its bindings as they are, and nothing is sent", async () => {
    captureSentry();
    const { handler, seen } = recording(async () => {
      throw new Error("boom");
    });
    const bindings = { ...env, SENTRY_DSN: "", SENTRY_TRACES_SAMPLE_RATE: "1" } as Env;
    await expect(fetchWith(handler, bindings)).rejects.toThrow("boom");
    expect(seen[0]).toBe(bindings);
    expect(sent).toEqual([]);
  });

  it("with a DSN the request is instrumented, and an error is reported", async () => {
    captureSentry();
    const { handler, seen } = recording(async () => {
      throw new Error("boom");
    });
    const bindings = reporting();
    await expect(fetchWith(handler, bindings)).rejects.toThrow("boom");
    expect(seen[0]).not.toBe(bindings);
    expect(sent.some((body) => body.includes('"type":"event"') && body.includes("boom"))).toBe(true);
  });

  it("a traced request's spans leave without the webhook secret or a socket ticket", async () => {
    captureSentry();
    const secret = env.EFI_WEBHOOK_HMAC_SECRET;
    const { handler } = recording();
    const bindings = reporting();
    await fetchWith(handler, bindings, `https://api.test/webhooks/efi/pix?hmac=${secret}&ignorar=`);
    await fetchWith(handler, bindings, "https://api.test/v1/ws?ticket=tkt_secret123");
    const text = sent.join("\n");
    expect(text).toContain("/webhooks/efi/pix");
    expect(text).toContain("hmac=[redacted]");
    expect(text).not.toContain(secret);
    expect(text).not.toContain("tkt_secret123");
  });
});
