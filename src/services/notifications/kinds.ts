/** What a notification is about: the app picks its icon and screen by this. */
export const NOTIFICATION_KINDS = [
  "ride_offered",
  "ride_accepted",
  "ride_arrived",
  "ride_cancelled",
  "ride_expired",
  "ride_reassigning",
  "payment_confirmed",
  "payout_paid",
  "payment_reversed",
  "payout_returned",
  "documents_expiring",
] as const;

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
