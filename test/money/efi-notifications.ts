import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { postWebhook, processItems } from "../efi-webhook-helpers";

// Efí's webhooks under the test's control: the Pix key's webhook points at a path that answers
// 404, so every notification the sandbox sends is lost; the sandbox still records its body, which
// the test then delivers to the real webhook route when (and as often as) it decides.

export type NotificationKind = "PIX_RECEBIDO" | "PIX_ENVIADO" | "DEVOLUCAO_ENVIADA" | "DEVOLUCAO_RECEBIDA";

/** A devolução as a notification lists it. */
export interface NotifiedDevolucao {
  id: string;
  rtrId: string;
  valor: string;
  status?: string;
}

export interface Notification {
  kind: NotificationKind;
  body: string;
  /** The end-to-end ids of its items (a received Pix, or a send). */
  e2eIds: string[];
  devolucoes: NotifiedDevolucao[];
}

/** The id of the sandbox's latest notification (0 when none): the mark for `notificationsSince`. */
export async function lastNotificationId(): Promise<number> {
  return (await env.EFI_SANDBOX_DB.prepare("SELECT max(id) AS id FROM deliveries").first<number>("id")) ?? 0;
}

/**
 * The sandbox's notifications of `kind` sent after `afterId` whose body contains `needle` (an
 * e2eId, an idEnvio), oldest first. Concurrent refunds of one Pix each send one, and the last one
 * sent need not list them all, so a caller delivers every one.
 */
export async function notificationsSince(
  kind: NotificationKind,
  needle: string,
  afterId: number,
): Promise<Notification[]> {
  const { results } = await env.EFI_SANDBOX_DB.prepare(
    "SELECT body FROM deliveries WHERE kind = ? AND instr(body, ?) > 0 AND id > ? AND reason = 'event' ORDER BY id",
  )
    .bind(kind, needle, afterId)
    .all<{ body: string }>();
  if (results.length === 0) throw new Error(`the sandbox sent no ${kind} about ${needle}`);
  return results.map((row) => {
    const items = (
      JSON.parse(row.body) as { pix: { endToEndId: string; devolucoes?: NotifiedDevolucao[] }[] }
    ).pix;
    return {
      kind,
      body: row.body,
      e2eIds: items.map((item) => item.endToEndId),
      devolucoes: items.flatMap((item) => item.devolucoes ?? []),
    };
  });
}

async function storedRows(e2eIds: string[]) {
  const marks = e2eIds.map(() => "?").join(", ");
  const { results } = await env.DB.prepare(
    `SELECT id, kind, status, detail FROM webhook_events WHERE end_to_end_id IN (${marks}) ORDER BY id`,
  )
    .bind(...e2eIds)
    .all<{ id: string; kind: string; status: string; detail: string | null }>();
  return results;
}

/**
 * Delivers a notification to the webhook route `copies` times at once, then runs the payments
 * consumer on whatever it stored (racing the queue's own consumer, which got the same messages).
 * Asserts that the copies together stored each item once and that every item ended processed.
 * Returns how many rows the copies stored.
 */
export async function deliver(notification: Notification, copies = 1): Promise<number> {
  const before = (await storedRows(notification.e2eIds)).length;
  const replies = await Promise.all(Array.from({ length: copies }, () => postWebhook(notification.body)));
  let stored = 0;
  for (const reply of replies) {
    expect(reply.status, reply.text).toBe(200);
    stored += reply.json.stored as number;
  }
  const rows = await storedRows(notification.e2eIds);
  // The reconciler may store rows of these items meanwhile, never the webhook twice.
  const items = notification.e2eIds.length + notification.devolucoes.length;
  expect(stored, `${copies} copies of ${notification.kind} stored each item once`).toBeLessThanOrEqual(
    Math.min(items, rows.length - before),
  );
  const waiting = rows.filter((row) => row.status === "received");
  if (waiting.length > 0) await processItems(waiting);
  const unsettled = (await storedRows(notification.e2eIds)).filter((row) => row.status !== "processed");
  expect(unsettled, `items of ${notification.kind} not processed`).toEqual([]);
  return stored;
}

/** Rows the payments consumer flagged for a person (none is expected in a walk of honest events). */
export async function flaggedRows() {
  const { results } = await env.DB.prepare(
    "SELECT id, kind, end_to_end_id, detail FROM webhook_events WHERE status = 'flagged'",
  ).all();
  return results;
}
