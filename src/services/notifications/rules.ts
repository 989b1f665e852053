import type { WireEvent } from "../events/wire";
import type { SendNotificationMessage } from "../queue-messages";
import type { NotificationKind } from "./kinds";

// Which published events notify whom: the one table. An event not listed notifies nobody (its
// socket delivery is enough: positions, QR codes, wallet balances). A recipient is always one of
// the event's own audience, except the driver of a paid ride, who hears of the payment by push
// and inbox only (his socket gets `wallet.updated`).

/** Who receives a notification: a user by id, or the driver of a ride (looked up when sending). */
export type Recipient = SendNotificationMessage["recipient"];

interface Rendered {
  title: string;
  body: string;
  /** Strings only: FCM's `data` is a map of string to string. */
  data: Record<string, string>;
}

interface Rule {
  kind: NotificationKind;
  recipients: (event: WireEvent, audience: readonly string[]) => Recipient[];
  render: (event: WireEvent) => Rendered;
}

type Fields = Record<string, unknown>;

function fields(event: WireEvent): Fields {
  return event.data && typeof event.data === "object" ? (event.data as Fields) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** `R$ 12,34` from integer centavos. */
export function brl(cents: unknown): string {
  if (typeof cents !== "number" || !Number.isInteger(cents)) return "";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  const reais = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return `${sign}R$ ${reais},${String(abs % 100).padStart(2, "0")}`;
}

/** Only users who are in the event's audience: a rule can narrow who hears, never widen it. */
function users(audience: readonly string[], ...ids: unknown[]): Recipient[] {
  return ids
    .map(text)
    .filter((id): id is string => id !== undefined && audience.includes(id))
    .map((id) => ({ user_id: id }));
}

/** The named fields that are non-empty strings, as FCM data. */
function stringsOf(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const s = text(value);
    if (s !== undefined) out[key] = s;
  }
  return out;
}

function rideData(event: WireEvent): Record<string, string> {
  return stringsOf({ ride_id: event.ride_id ?? fields(event).id });
}

const passenger = (event: WireEvent, audience: readonly string[]) =>
  users(audience, fields(event).passenger_id);

export const NOTIFICATION_RULES: Record<string, Rule> = {
  "ride.offered": {
    kind: "ride_offered",
    // The offer goes to the drivers it was published to; it carries no passenger data.
    recipients: (_event, audience) => users(audience, ...audience),
    render: (event) => {
      const offer = fields(event);
      return {
        title: "New ride nearby",
        body: `${String(offer.category ?? "")} · ${String(offer.payment_method ?? "")} · about ${brl(offer.estimated_fare_cents)}`,
        data: rideData(event),
      };
    },
  },
  "ride.accepted": {
    kind: "ride_accepted",
    recipients: passenger,
    render: (event) => ({
      title: "Driver on the way",
      body: "A driver accepted your ride.",
      data: rideData(event),
    }),
  },
  "ride.arrived": {
    kind: "ride_arrived",
    recipients: passenger,
    render: (event) => ({
      title: "Your driver is here",
      body: "Your driver is waiting at the pickup point.",
      data: rideData(event),
    }),
  },
  "ride.cancelled": {
    kind: "ride_cancelled",
    // The other party: whoever cancelled knows already.
    recipients: (event, audience) => {
      const ride = fields(event);
      return ride.cancelled_by === "driver"
        ? users(audience, ride.passenger_id)
        : users(audience, ride.driver_id);
    },
    render: (event) => {
      const ride = fields(event);
      return {
        title: "Ride cancelled",
        body:
          ride.cancelled_by === "driver"
            ? "Your driver cancelled the ride."
            : "The passenger cancelled the ride.",
        data: rideData(event),
      };
    },
  },
  "ride.expired": {
    kind: "ride_expired",
    recipients: passenger,
    render: (event) => ({
      title: "No driver found",
      body: "No driver accepted your ride in time. Please request again.",
      data: rideData(event),
    }),
  },
  "ride.reassigning": {
    kind: "ride_reassigning",
    recipients: passenger,
    render: (event) => ({
      title: "Finding you another driver",
      body: "Your driver could not make it; we are offering your ride to other drivers.",
      data: rideData(event),
    }),
  },
  "payment.confirmed": {
    kind: "payment_confirmed",
    recipients: (event, audience) => {
      const payment = fields(event);
      const rideId = text(payment.ride_id);
      const payer = users(audience, payment.payer_id);
      return rideId ? [...payer, { driver_of_ride: rideId }] : payer;
    },
    render: (event) => {
      const payment = fields(event);
      return {
        title: "Payment confirmed",
        body: `A payment of ${brl(payment.amount_cents)} was confirmed.`,
        data: stringsOf({ payment_id: payment.id, ride_id: payment.ride_id }),
      };
    },
  },
  "payout.paid": {
    kind: "payout_paid",
    recipients: (_event, audience) => users(audience, ...audience),
    render: (event) => {
      const payout = fields(event);
      return {
        title: "Payout sent",
        body: `${brl(payout.amount_cents)} was sent to your Pix key.`,
        data: stringsOf({ payout_id: payout.id }),
      };
    },
  },
  "payment.reversed": {
    kind: "payment_reversed",
    recipients: (event, audience) => {
      const reversal = fields(event);
      return users(audience, reversal.payer_id, reversal.driver_id);
    },
    render: (event) => {
      const reversal = fields(event);
      return {
        title: "Payment returned to the payer",
        body: `The payer's bank took back ${brl(reversal.amount_cents)} of a ride payment.`,
        data: stringsOf({ payment_id: reversal.payment_id, ride_id: reversal.ride_id }),
      };
    },
  },
  "payout.returned": {
    kind: "payout_returned",
    recipients: (_event, audience) => users(audience, ...audience),
    render: (event) => {
      const returned = fields(event);
      return {
        title: "Payout returned",
        body: `${brl(returned.amount_cents)} of a payout came back to your balance.`,
        data: stringsOf({ payout_id: returned.payout_id }),
      };
    },
  },
  // Reserved for the driver documents service: publish `documents.expiring` to the driver.
  "documents.expiring": {
    kind: "documents_expiring",
    recipients: (_event, audience) => users(audience, ...audience),
    render: (event) => {
      const documents = fields(event);
      return {
        title: "Documents expiring",
        body: text(documents.message) ?? "Some of your documents expire soon. Please send new ones.",
        data: {},
      };
    },
  },
};

/** One `send_notification` job per recipient of an event, or none if the event notifies nobody. */
export function notificationJobsFor(
  event: WireEvent,
  audience: readonly string[],
): SendNotificationMessage[] {
  const rule = NOTIFICATION_RULES[event.type];
  if (!rule) return [];
  const rendered = rule.render(event);
  const data = { ...rendered.data, kind: rule.kind, event_type: event.type };
  return rule.recipients(event, audience).map((recipient) => ({
    type: "send_notification" as const,
    event_id: event.id,
    recipient,
    kind: rule.kind,
    title: rendered.title,
    body: rendered.body,
    data,
  }));
}
