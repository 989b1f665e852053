/**
 * What every socket receives. `seq` is per ride on a ride socket and per user on `/v1/ws`;
 * 0 marks an event outside the replayable log (driver.location, payment events on a ride).
 */
export interface WireEvent {
  type: string;
  id: string;
  seq: number;
  ride_id?: string;
  data: unknown;
  at: string;
}

/** Who hears an event: the ride's sockets and/or the users' channels (and, later, their phones). */
export interface Audience {
  ride?: string | null;
  users?: readonly (string | null | undefined)[];
}

/**
 * An event as a service hands it over. The port fills what is missing: a fresh `evt_` id, seq 0,
 * the audience's ride as `ride_id`, the time of publishing.
 */
export type OutgoingEvent = Pick<WireEvent, "type" | "data"> & Partial<Omit<WireEvent, "type" | "data">>;

/**
 * The one way an event leaves a service. Delivery failures are logged, never thrown: the change
 * an event reports is already durable, and a lost event is a missed notification, not lost state.
 */
export type Publish = (event: OutgoingEvent, audience: Audience) => Promise<void>;
