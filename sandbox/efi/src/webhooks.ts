import type { Deps } from "./context";

/**
 * Webhook delivery as Efí does it: a POST to the registered URL with `/pix`
 * appended, any 2XX counts, anything else (or no answer within the timeout) is retried. Efí
 * retries 10 times over days (5, 10, 20 … minutes); the sandbox retries `retryDelaysMs.length`
 * times with those short waits, then gives up and records the delivery as failed. Every attempt
 * is a row in `delivery_attempts`, visible through `GET /sandbox/state`.
 */

export type DeliveryKind =
  | "PIX_RECEBIDO"
  | "PIX_ENVIADO"
  | "DEVOLUCAO_ENVIADA"
  | "DEVOLUCAO_RECEBIDA"
  | "CARD_NOTIFICATION";

/** Why a notification went out: an event, Efí's resend endpoint, or the sandbox control API. */
export type DeliveryReason = "event" | "resend" | "control_resend";

export interface DeliveryRow {
  id: number;
  kind: DeliveryKind;
  reason: DeliveryReason;
  url: string;
  body: string;
  e2e_ids: string;
  state: "pending" | "delivered" | "failed" | "skipped";
  attempts: number;
  created_at: string;
  updated_at: string;
}

export interface AttemptRow {
  delivery_id: number;
  attempt: number;
  at: string;
  http_status: number | null;
  error: string | null;
}

/**
 * Where Efí POSTs for a registered URL: `{url}/pix`; when the query has `ignorar=`, the `/pix`
 * goes at the end of that parameter's value instead, so the request reaches the registered path
 * with every other query parameter (e.g. `hmac`) untouched. With a query but no `ignorar=`, the
 * sandbox appends `/pix` to the path and keeps the query (what Efí does there is unconfirmed;
 * its docs say to end the URL with `ignorar=`).
 */
export function notificationUrl(webhookUrl: string): string {
  const ignorar = /([?&]ignorar=)([^&#]*)/;
  if (ignorar.test(webhookUrl)) return webhookUrl.replace(ignorar, "$1$2/pix");
  const url = new URL(webhookUrl);
  url.pathname = `${url.pathname.replace(/\/$/, "")}/pix`;
  return url.toString();
}

export interface NotifyInput {
  kind: DeliveryKind;
  reason: DeliveryReason;
  /** The target URL, or null when no webhook is registered (recorded as skipped). */
  url: string | null;
  body: string;
  contentType: string;
  e2eIds: string[];
  /** Retry on failure (events); Efí's resend makes one attempt only. */
  retry: boolean;
}

export interface DeliveryResult {
  id: number;
  state: DeliveryRow["state"];
  attempts: number;
}

/** Records a delivery and makes its attempts, waiting `retryDelaysMs` between them. */
export async function notify(deps: Deps, input: NotifyInput): Promise<DeliveryResult> {
  const at = deps.now().toISOString();
  const created = await deps.db
    .prepare(
      `INSERT INTO deliveries (kind, reason, url, body, e2e_ids, state, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`,
    )
    .bind(
      input.kind,
      input.reason,
      input.url ?? "",
      input.body,
      input.e2eIds.join(","),
      input.url ? "pending" : "skipped",
      at,
      at,
    )
    .first<{ id: number }>();
  if (!created) throw new Error("delivery insert returned nothing");
  if (!input.url) return { id: created.id, state: "skipped", attempts: 0 };

  const waits = input.retry ? deps.retryDelaysMs : [];
  for (let attempt = 1; attempt <= waits.length + 1; attempt++) {
    if (attempt > 1) await deps.sleep(waits[attempt - 2] ?? 0);
    const { status, error } = await attemptOnce(deps, input);
    const ok = status !== null && status >= 200 && status < 300;
    const last = ok || attempt === waits.length + 1;
    const state = ok ? "delivered" : last ? "failed" : "pending";
    const now = deps.now().toISOString();
    await deps.db.batch([
      deps.db
        .prepare(
          "INSERT INTO delivery_attempts (delivery_id, attempt, at, http_status, error) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(created.id, attempt, now, status, error),
      deps.db
        .prepare("UPDATE deliveries SET attempts = ?, state = ?, updated_at = ? WHERE id = ?")
        .bind(attempt, state, now, created.id),
    ]);
    if (last) return { id: created.id, state, attempts: attempt };
  }
  throw new Error("unreachable");
}

async function attemptOnce(
  deps: Deps,
  input: NotifyInput,
): Promise<{ status: number | null; error: string | null }> {
  try {
    const response = await deps.deliver(input.url as string, {
      method: "POST",
      headers: { "content-type": input.contentType, "user-agent": "efi-sandbox" },
      body: input.body,
      signal: AbortSignal.timeout(deps.webhookTimeoutMs),
    });
    await response.body?.cancel();
    return { status: response.status, error: null };
  } catch (error) {
    return {
      status: null,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
}

/** Posts `{"pix": items}` to the webhook registered for the key, if any. */
export async function notifyPix(
  deps: Deps,
  chave: string,
  kind: DeliveryKind,
  reason: DeliveryReason,
  items: Array<{ endToEndId: string }>,
): Promise<DeliveryResult> {
  const webhook = await deps.db
    .prepare("SELECT webhook_url FROM webhooks WHERE chave = ?")
    .bind(chave)
    .first<{ webhook_url: string }>();
  return notify(deps, {
    kind,
    reason,
    url: webhook ? notificationUrl(webhook.webhook_url) : null,
    body: JSON.stringify({ pix: items }),
    contentType: "application/json",
    e2eIds: items.map((item) => item.endToEndId),
    retry: reason === "event",
  });
}

export async function listDeliveries(
  deps: Deps,
  limit = 100,
): Promise<Array<DeliveryRow & { tries: AttemptRow[] }>> {
  const { results } = await deps.db
    .prepare("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?")
    .bind(limit)
    .all<DeliveryRow>();
  if (results.length === 0) return [];
  const oldest = results.at(-1)?.id ?? 0;
  const attempts = await deps.db
    .prepare("SELECT * FROM delivery_attempts WHERE delivery_id >= ? ORDER BY delivery_id, attempt")
    .bind(oldest)
    .all<AttemptRow>();
  return results.map((row) => ({
    ...row,
    tries: attempts.results.filter((a) => a.delivery_id === row.id),
  }));
}
