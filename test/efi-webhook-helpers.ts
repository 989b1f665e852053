import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createServiceContext } from "../src/composition";
import worker from "../src/index";
import { QUEUES } from "../src/services/queue-messages";
import { BASE, readReply, unique } from "./helpers";

/** The URL we register at the sandbox: our route with the hmac secret, `/pix` landing in `ignorar`. */
export function webhookUrl(path = "/webhooks/efi/pix", secret: string = env.EFI_WEBHOOK_HMAC_SECRET) {
  return `http://localhost${path}?hmac=${encodeURIComponent(secret)}&ignorar=`;
}

/** Registers our Pix key's webhook at the sandbox (one URL per key; the last one wins). */
export async function registerWebhook(url: string = webhookUrl()) {
  await createServiceContext(env).efi.registerWebhook(url);
}

/**
 * Runs `fn` while Efí's notifications go to a path that answers 404, so they fail (as if lost);
 * then points the webhook back at our route. Returns what `fn` returned.
 */
export async function withLostWebhooks<T>(fn: () => Promise<T>): Promise<T> {
  await registerWebhook("http://localhost/nowhere?ignorar=");
  try {
    return await fn();
  } finally {
    await registerWebhook();
  }
}

/** The body of the sandbox's latest notification about `e2eId`, exactly as Efí sent it. */
export async function lastNotificationBody(e2eId: string): Promise<string> {
  const row = await env.EFI_SANDBOX_DB.prepare(
    "SELECT body FROM deliveries WHERE e2e_ids LIKE ? ORDER BY id DESC LIMIT 1",
  )
    .bind(`%${e2eId}%`)
    .first<{ body: string }>();
  if (!row) throw new Error(`the sandbox sent nothing about ${e2eId}`);
  return row.body;
}

export interface WebhookCall {
  /** `undefined` sends no hmac at all; default: the configured secret. */
  hmac?: string | undefined;
  path?: string;
  headers?: Record<string, string>;
}

/** POSTs a notification to our webhook as Efí would (the `/pix` suffix inside `ignorar`). */
export async function postWebhook(body: string | unknown, options: WebhookCall = {}) {
  const hmac = "hmac" in options ? options.hmac : env.EFI_WEBHOOK_HMAC_SECRET;
  const query = new URLSearchParams();
  if (hmac !== undefined) query.set("hmac", hmac);
  query.set("ignorar", "/pix");
  const response = await exports.default.fetch(
    new Request(`${BASE}${options.path ?? "/webhooks/efi/pix"}?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
  return readReply(response);
}

export interface WebhookEventRecord {
  id: string;
  kind: string;
  end_to_end_id: string;
  sub_id: string;
  status: string;
  detail: string | null;
  payload: string;
}

/** The stored webhook items about an end-to-end id. */
export async function webhookEvents(e2eId: string): Promise<WebhookEventRecord[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM webhook_events WHERE end_to_end_id = ? ORDER BY kind, sub_id",
  )
    .bind(e2eId)
    .all<WebhookEventRecord>();
  return results;
}

export async function webhookEventCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_events").first<number>("n")) ?? 0;
}

/** Ledger transactions under an idempotency key (a posting happens at most once per key). */
export async function postings(idempotencyKey: string): Promise<number> {
  return (
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM ledger_transactions WHERE idempotency_key = ?")
      .bind(idempotencyKey)
      .first<number>("n")) ?? 0
  );
}

/** A received-Pix item in Efí's wire format. */
export function receivedItem(input: { e2eId?: string; txid?: string; valor?: string; horario?: string }) {
  return {
    endToEndId: input.e2eId ?? fakeE2eId(),
    ...(input.txid ? { txid: input.txid } : {}),
    chave: env.EFI_PIX_KEY,
    valor: input.valor ?? "13.50",
    horario: input.horario ?? new Date().toISOString(),
  };
}

/** An end-to-end id in BCB's format (E + ISPB + yyyyMMddHHmm + 11), unknown to the sandbox. */
export function fakeE2eId(): string {
  const tail = `${unique()}XXXXXXXXXXX`.replace(/[^a-zA-Z0-9]/g, "").slice(0, 11);
  return `E09089356${new Date().toISOString().slice(0, 16).replace(/[-T:]/g, "")}${tail}`;
}

let messageCounter = 0;

/** Delivers bodies to the Worker's own queue handler as the runtime would, and its verdict. */
export async function deliverToQueue(queue: string, bodies: unknown[], attempts = 1) {
  const messages = bodies.map((body) => {
    messageCounter += 1;
    return { id: `msg-${unique()}-${messageCounter}`, timestamp: new Date(), attempts, body };
  });
  const batch = createMessageBatch(queue, messages);
  // The harness records that a message was retried, not its delay: keep the options given.
  const retried: (QueueRetryOptions | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      retried.push(options);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  await waitOnExecutionContext(ctx);
  return { messages, retried, result: await getQueueResult(batch, ctx) };
}

/** Runs the payments consumer on stored webhook items, as the payments queue would. */
export function processItems(eventIds: { id: string; kind: string }[], attempts = 1) {
  return deliverToQueue(
    QUEUES.payments,
    eventIds.map((row) => ({ type: "efi.webhook_item", event_id: row.id, kind: row.kind })),
    attempts,
  );
}
