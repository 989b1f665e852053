import { z } from "zod";
import { NOTIFICATION_KINDS } from "./notifications/kinds";

/**
 * Every queue message the Worker sends or receives, in one place. Producers build messages
 * through these schemas and consumers parse what they receive with them: nothing crosses a
 * queue unparsed. Bodies are sent as JSON (`contentType: "json"`), so a dead letter reads
 * plainly and an older or newer deployment can still parse it.
 */

/** Queue names as in wrangler.toml; a batch says which queue it came from in `batch.queue`. */
export const QUEUES = {
  settlements: "settlements",
  settlementsDeadLetter: "settlements-dlq",
  payments: "payments",
  paymentsDeadLetter: "payments-dlq",
  notifications: "notifications",
  notificationsDeadLetter: "notifications-dlq",
} as const;

/** Queues accept messages up to 128 KB; a page of 100 ids is about 3.5 KB. */
export const SETTLEMENT_PAGE_SIZE = 100;

const BusinessDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a YYYY-MM-DD date");
const SettlementId = z.string().regex(/^stl_[0-9A-Z]{26}$/, "must be a settlement id");

/** Release these settlements (all due on or before `business_date`); sent by the nightly run. */
export const SettlementReleaseMessage = z.object({
  type: z.literal("settlement.release"),
  settlement_ids: z.array(SettlementId).min(1).max(SETTLEMENT_PAGE_SIZE),
  business_date: BusinessDate,
});

/**
 * Keep paging the due settlements after `after_id`: a run that reached its page budget hands
 * the rest to the queue, so no single invocation does unbounded work.
 */
export const SettlementScanMessage = z.object({
  type: z.literal("settlement.scan"),
  business_date: BusinessDate,
  after_id: SettlementId,
});

export const SettlementsQueueMessage = z.discriminatedUnion("type", [
  SettlementReleaseMessage,
  SettlementScanMessage,
]);

export type SettlementReleaseMessage = z.infer<typeof SettlementReleaseMessage>;
export type SettlementScanMessage = z.infer<typeof SettlementScanMessage>;
export type SettlementsQueueMessage = z.infer<typeof SettlementsQueueMessage>;

// ---------------------------------------------------------------------------------------------
// Payments: Efí webhook items, stored once in `webhook_events` and confirmed by the consumer.

export const WEBHOOK_EVENT_KINDS = ["pix_received", "refund", "pix_sent"] as const;

/**
 * Process one stored webhook item. The message carries only the row's id: the item itself is
 * read from D1, whose row status (`received` → `processed` | `flagged`) makes a redelivery a
 * no-op. `kind` is there for logs and dead letters.
 */
export const WebhookItemMessage = z.object({
  type: z.literal("efi.webhook_item"),
  event_id: z.string().regex(/^whk_[0-9A-Z]{26}$/, "must be a webhook event id"),
  kind: z.enum(WEBHOOK_EVENT_KINDS),
});

export const PaymentsQueueMessage = z.discriminatedUnion("type", [WebhookItemMessage]);

export type WebhookItemMessage = z.infer<typeof WebhookItemMessage>;
export type PaymentsQueueMessage = z.infer<typeof PaymentsQueueMessage>;

// ---------------------------------------------------------------------------------------------
// Notifications: one job per recipient of a published event (src/services/notifications/rules.ts).

const UserId = z.string().regex(/^usr_[0-9A-Z]{26}$/, "must be a user id");

/**
 * Write the inbox row of one event for one user, then push it to the user's phones. The event id
 * and the user make the row's dedup key, so a job delivered twice writes one row.
 */
export const SendNotificationMessage = z.object({
  type: z.literal("send_notification"),
  event_id: z.string().min(1).max(200),
  /** A user, or the driver of a ride (looked up when the job runs). */
  recipient: z.union([
    z.object({ user_id: UserId }).strict(),
    z.object({ driver_of_ride: z.string().regex(/^ride_[0-9A-Z]{26}$/, "must be a ride id") }).strict(),
  ]),
  kind: z.enum(NOTIFICATION_KINDS),
  title: z.string().min(1).max(200),
  body: z.string().max(1000),
  data: z.record(z.string().max(64), z.string().max(500)),
});

export const NotificationsQueueMessage = z.discriminatedUnion("type", [SendNotificationMessage]);

export type SendNotificationMessage = z.infer<typeof SendNotificationMessage>;
export type NotificationsQueueMessage = z.infer<typeof NotificationsQueueMessage>;
