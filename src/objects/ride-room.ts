import { DurableObject } from "cloudflare:workers";
import { createServiceContext } from "../composition";
import type { SocketsEnd } from "../services/auth/user-channel";
import type { ServiceContext } from "../services/context";
import { hintOffers, type Notice, withdrawnNotice } from "../services/dispatch";
import type { NearbyDriver } from "../services/drivers/index-port";
import { releaseIndexedDriver } from "../services/drivers/index-sync";
import type { WireEvent } from "../services/events/wire";
import { RETENTION_DAYS } from "../services/retention/periods";
import { prepareCompletion } from "../services/rides/completion";
import { insertRide, persistTransition, rideFromDatabase } from "../services/rides/persistence";
import type {
  CreateResult,
  DriverLocation,
  ReportedTrip,
  RideRoomPort,
  RideStanding,
  StoredReply,
} from "../services/rides/room";
import { type ActResult, decide, isTerminal, type RideAction, type RideRow } from "../services/rides/state";
import { rideView } from "../services/rides/view";
import { FrameMeter } from "./frame-limit";
import {
  CLOSE_CODES,
  type ClientFrame,
  ClientFrameSchema,
  closeSessionSockets,
  eventId,
  identityOf,
  parseSince,
  type SocketIdentity,
} from "./protocol";
import { RideDispatcher } from "./ride-dispatcher";
import { RideStorage, type StoredEvent } from "./ride-storage";

/**
 * It is longer than 300 lines because a Durable Object's RPC methods, socket handlers and alarm must be
 * methods of its one class; what they decide lives in `services/rides`, `services/dispatch` and
 * `ride-dispatcher.ts`, and what remains here is ordering, storage and fan-out.
 *
 * One per ride: the single writer of the ride's state. Transitions run one at a time (a promise
 * chain, since awaiting D1 would otherwise let a second request interleave), are checked against
 * the local copy, written to D1 with a status guard, appended to the event log, then published.
 */
export class RideRoom extends DurableObject<Env> implements RideRoomPort {
  private readonly store: RideStorage;
  private readonly dispatcher: RideDispatcher;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly frames = new FrameMeter();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RideStorage(ctx.storage);
    this.dispatcher = new RideDispatcher(ctx.storage, this.store);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Records a new ride (idempotent: a second call returns the ride as it is). Its first dispatch
   * step rides in the same D1 batch, so the nearest drivers' offers cost no round trip of their own.
   */
  async create(row: RideRow, reply?: StoredReply, nearby?: NearbyDriver[]): Promise<CreateResult> {
    return this.serialized(async () => {
      const existing = this.load();
      if (existing) return { ok: true, ride: existing, replyStored: false };
      const ctx = this.context();
      const now = new Date();
      const offers = await this.dispatcher.firstOffers(ctx, row, now, nearby);
      const inserted = await insertRide(ctx, row, reply, offers ?? {});
      if (!inserted.ok) return inserted;
      // The offers go out before this turn writes anything, which the output gate would make them
      // wait for. They are in D1 already, and an accept waits in this room's chain until the ride
      // is saved below.
      const began = offers ? this.dispatcher.began(ctx, row, now, inserted.after) : null;
      if (began) this.notify(row, began.notices);
      this.store.save(row);
      if (began) began.keep();
      else this.dispatcher.restart();
      this.store.schedule("expire", Date.parse(row.expiresAt));
      this.record(row, "ride.created", [row.passengerId]);
      return { ok: true, ride: row, replyStored: reply !== undefined };
    });
  }

  async act(action: RideAction): Promise<ActResult> {
    return this.serialized(() => this.apply(action));
  }

  /**
   * The assigned driver ends the trip. The fare is settled here, from this room's trace and the
   * server's clock (`prepareCompletion`); the driver's figures are only recorded.
   */
  async complete(driverId: string, reported: ReportedTrip): Promise<ActResult> {
    return this.serialized(() => this.completeNow(driverId, reported));
  }

  /** The passenger ends the trip before the dropoff: the driver may then complete anywhere. */
  async endEarly(passengerId: string): Promise<ActResult> {
    return this.serialized(async () => {
      const row = this.load();
      if (!row) return { ok: false, code: "not_found", detail: "No such ride" };
      if (row.passengerId !== passengerId) {
        return { ok: false, code: "forbidden", detail: "Only the ride's passenger can end it early" };
      }
      if (row.status !== "in_progress") {
        return {
          ok: false,
          code: "invalid_transition",
          detail: `The ride is ${row.status}; this needs it in_progress`,
        };
      }
      const at = new Date().toISOString();
      if (this.store.mark("ended_early", at)) {
        const event = this.wire(row, "ride.ended_early", 0, { ride_id: row.id, ended_early_at: at });
        this.broadcast(event);
        this.ctx.waitUntil(this.context().publish(event, { users: [row.driverId] }));
      }
      return { ok: true, ride: row };
    });
  }

  /** The assigned driver's position: kept here, sent to the passenger at most once per interval. */
  async driverLocation(driverId: string, location: DriverLocation): Promise<ActResult> {
    const row = this.load();
    if (!row) return { ok: false, code: "not_found", detail: "No such ride" };
    if (row.driverId !== driverId || !["accepted", "arrived", "in_progress"].includes(row.status)) {
      return {
        ok: false,
        code: "forbidden",
        detail: "Only the assigned driver of an active ride sends its location",
      };
    }
    const now = Date.now();
    const last = this.store.location();
    const due = !last || now - last.sentAt >= this.context().config.LOCATION_BROADCAST_INTERVAL_MS;
    this.store.saveLocation(JSON.stringify(location), now, due ? now : (last?.sentAt ?? now));
    if (row.status === "in_progress")
      this.store.appendTrace({ lat: location.lat, lng: location.lng, at: now });
    if (due) this.broadcast(this.wire(row, "driver.location", 0, location), "passenger");
    return { ok: true, ride: row };
  }

  /** Sends an event about the ride that is not one of its transitions (payments) to its sockets. */
  async relay(event: WireEvent): Promise<void> {
    this.broadcast(event);
  }

  /** Closes a user's sockets on this ride when their session ends or they are blocked. */
  async closeSockets(userId: string, end: SocketsEnd): Promise<number> {
    return closeSessionSockets(this.ctx.getWebSockets(userId), userId, end);
  }

  /** A socket upgrade, already authenticated and authorized by the Worker. */
  override async fetch(request: Request): Promise<Response> {
    const row = this.load();
    const identity = identityOf(request);
    if (!row || !identity) return new Response("not found", { status: 404 });
    const { userId, role } = identity;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [role, userId]);
    server.serializeAttachment(identity);
    for (const event of this.eventsSince(parseSince(request.url))) server.send(JSON.stringify(event));
    const location = this.store.location();
    if (location && role === "passenger" && !isTerminal(row.status)) {
      server.send(JSON.stringify(this.wire(row, "driver.location", 0, JSON.parse(location.data))));
    }
    const protocol = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim();
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "sec-websocket-protocol": protocol } : {},
    });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.frames.admit(ws)) return ws.close(CLOSE_CODES.tooManyFrames, "too many frames");
    const identity = ws.deserializeAttachment() as SocketIdentity | null;
    let frame: ClientFrame;
    try {
      frame = ClientFrameSchema.parse(
        JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message)),
      );
    } catch {
      ws.send(
        JSON.stringify({
          type: "error",
          code: "invalid_frame",
          detail: 'Send {"action":"location",...} or "ping"',
        }),
      );
      return;
    }
    if (!identity) return ws.close(CLOSE_CODES.unauthorized, "unknown socket");
    const { action: _action, ...location } = frame;
    const result = await this.driverLocation(identity.userId, location);
    if (!result.ok) ws.send(JSON.stringify({ type: "error", code: result.code, detail: result.detail }));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(sendableCloseCode(code), "closing");
  }

  /** Runs due timers; delivered at least once, and each timer does nothing twice. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const kind of this.store.dueTimers(now)) {
      if (kind === "expire") await this.act({ kind: "expire" });
      this.store.cancelTimers(kind);
      // After the cancel: the step schedules its own next run.
      if (kind === "dispatch") await this.serialized(() => this.dispatch());
      if (kind === "forget_trip") this.store.forgetTrip();
    }
    this.store.armAlarm();
  }

  async standing(): Promise<RideStanding | null> {
    const row = this.load();
    if (!row) return null;
    const { status, driverId, expiresAt, category, pickupLat, pickupLng } = row;
    return { status, driverId, expiresAt, category, pickupLat, pickupLng };
  }

  async forgetPerson(role: "passenger" | "driver"): Promise<void> {
    await this.serialized(async () => {
      if (!this.load()) return;
      this.store.forgetTrip();
      if (role === "passenger") this.store.roundPlaces();
    });
  }

  async dispatchNow(): Promise<void> {
    if (this.load()?.status === "requested") this.store.schedule("dispatch", Date.now());
  }

  /** One dispatch step (inside the serialized chain, so never beside a transition). */
  private async dispatch(): Promise<void> {
    const row = this.load();
    // Past its deadline the ride is the expiry timer's, which runs first in the same alarm.
    if (row?.status !== "requested" || Date.now() >= Date.parse(row.expiresAt)) return;
    const { notices, exhausted } = await this.dispatcher.step(this.context(), row);
    this.notify(row, notices);
    if (exhausted) await this.apply({ kind: "expire", reason: "no_driver_available" });
  }

  /** Sends a step's or a transition's events, and tells the driver indexes about its offers. */
  private notify(row: RideRow, notices: Notice[]): void {
    if (notices.length === 0) return;
    const ctx = this.context();
    this.ctx.waitUntil(Promise.all(notices.map(({ event, users }) => ctx.publish(event, { users }))));
    this.ctx.waitUntil(hintOffers(ctx, row, notices));
  }

  private async completeNow(driverId: string, reported: ReportedTrip, resynced = false): Promise<ActResult> {
    const row = this.load();
    if (!row) return { ok: false, code: "not_found", detail: "No such ride" };
    const last = this.store.location();
    const position = last ? (JSON.parse(last.data) as DriverLocation) : undefined;
    const prepared = await prepareCompletion(
      this.context(),
      row,
      driverId,
      {
        trace: this.store.trace(),
        lastLocation: last && position ? { lat: position.lat, lng: position.lng, at: last.at } : undefined,
        endedEarlyAt: this.store.marked("ended_early"),
      },
      reported,
    );
    if (prepared.ok) return this.apply(prepared.action);
    // A refusal may come from a stale copy (a write that landed in D1 without us): check once.
    if (prepared.maybeStale && !resynced && (await this.resync()))
      return this.completeNow(driverId, reported, true);
    const { maybeStale: _maybeStale, ...refusal } = prepared;
    return refusal;
  }

  private async apply(action: RideAction, resynced = false): Promise<ActResult> {
    const row = this.load();
    if (!row) return { ok: false, code: "not_found", detail: "No such ride" };
    // A driver retrying an accept that already succeeded gets the ride, not a 409.
    if (action.kind === "accept" && row.driverId === action.driverId && !isTerminal(row.status)) {
      return { ok: true, ride: row };
    }
    const now = new Date();
    if (
      action.kind !== "expire" &&
      row.status === "requested" &&
      now.getTime() >= Date.parse(row.expiresAt)
    ) {
      // If the expiry cannot be written (D1 disagrees with this room), say so rather than retry
      // forever: the ride would still look requested and past its time on every pass.
      const expired = await this.apply({ kind: "expire" });
      if (!expired.ok) return expired;
      return this.apply(action);
    }
    const decision = decide(row, action, now);
    if (!decision.ok) {
      // A refusal may come from a stale copy (a write that landed in D1 without us): check once.
      const maybeStale = decision.code === "invalid_transition" || decision.code === "forbidden";
      if (maybeStale && !resynced && (await this.resync())) return this.apply(action, true);
      return decision;
    }
    const persisted = await persistTransition(
      this.context(),
      row,
      decision.next,
      decision.event,
      decision.actorId,
    );
    if (!persisted.ok) {
      // D1 moved on without us (a write that landed but whose reply was lost): catch up, retry once.
      if (persisted.diverged && !resynced && (await this.resync())) return this.apply(action, true);
      const { diverged: _diverged, ...refusal } = persisted;
      return refusal;
    }
    this.store.save(decision.next);
    this.ctx.waitUntil(releaseIndexedDriver(this.context(), row, decision.next, this.driverNear(row)));
    const recipients = [decision.next.passengerId, decision.next.driverId].filter((id): id is string => !!id);
    this.record(decision.next, decision.event, recipients);
    const reason = decision.next.status === "accepted" ? "accepted_by_another" : "ride_closed";
    this.notify(
      row,
      persisted.withdrawn.map((driverId) => withdrawnNotice(row.id, driverId, reason)),
    );
    if (decision.next.status !== "requested") this.store.cancelTimers("dispatch");
    if (decision.event === "ride.reassigning") {
      this.store.schedule("expire", Date.parse(decision.next.expiresAt));
      this.dispatcher.restart();
    }
    if (isTerminal(decision.next.status)) this.closeTimers();
    this.store.armAlarm();
    return { ok: true, ride: decision.next };
  }

  /** Adopts D1's newer state of the ride and publishes the events this room never recorded. */
  private async resync(): Promise<boolean> {
    const local = this.load();
    if (!local) return false;
    const { row, events } = await rideFromDatabase(this.context(), local.id, local.lastSeq);
    if (!row || row.lastSeq <= local.lastSeq) return false;
    // Adopt D1's state only if its events continue ours without a gap; anything else is damage
    // for a person to look at, not something to paper over.
    const contiguous =
      events.length === row.lastSeq - local.lastSeq &&
      events.every((e, i) => e.seq === local.lastSeq + i + 1);
    if (!contiguous) {
      this.context().log.error("ride in D1 is ahead of its room with a gap in its events", {
        ride_id: local.id,
      });
      return false;
    }
    this.store.save(row);
    for (const event of events) {
      this.store.appendEvent(event);
      this.broadcast(storedToWire(row.id, event));
    }
    if (isTerminal(row.status)) this.closeTimers();
    if (row.status === "requested") {
      this.store.schedule("expire", Date.parse(row.expiresAt));
      this.store.schedule("dispatch", Date.now());
    }
    this.store.armAlarm();
    return true;
  }

  /** Appends the event to the local log, sends it to the ride's sockets and the users' channels. */
  private record(row: RideRow, type: string, recipients: string[]): void {
    const event = this.wire(row, type, row.lastSeq);
    this.store.appendEvent({ seq: event.seq, type, data: JSON.stringify(event.data), at: event.at });
    this.broadcast(event);
    this.ctx.waitUntil(this.context().publish(event, { users: recipients }));
  }

  private wire(row: RideRow, type: string, seq: number, data: unknown = rideView(row)): WireEvent {
    return {
      type,
      id: seq > 0 ? eventId(row.id, seq) : `evt_${crypto.randomUUID()}`,
      seq,
      ride_id: row.id,
      data,
      at: new Date().toISOString(),
    };
  }

  private broadcast(event: WireEvent, tag?: string): void {
    const text = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets(tag)) {
      try {
        ws.send(text);
      } catch {
        // A socket that closed meanwhile; hibernation cleans it up.
      }
    }
  }

  private eventsSince(since: number): WireEvent[] {
    const row = this.load();
    if (!row || since <= 0) return [];
    return this.store.eventsAfter(since).map((e) => storedToWire(row.id, e));
  }

  /**
   * A ride that ended waits for nothing but the day its trip is forgotten: the trace and the
   * driver's last position are kept RETENTION_DAYS.rideTraces for a fare dispute, then dropped.
   */
  private closeTimers(): void {
    this.store.cancelTimers();
    this.store.schedule("forget_trip", Date.now() + RETENTION_DAYS.rideTraces * 86_400_000);
  }

  /** Where the room last saw the ride's driver, else the pickup: it names his driver index. */
  private driverNear(row: RideRow): { lat: number; lng: number } {
    const last = this.store.location();
    return last ? (JSON.parse(last.data) as DriverLocation) : { lat: row.pickupLat, lng: row.pickupLng };
  }

  private load(): RideRow | null {
    return this.store.load();
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private context(): ServiceContext {
    return createServiceContext(this.env);
  }
}

function storedToWire(rideId: string, event: StoredEvent): WireEvent {
  return {
    type: event.type,
    id: eventId(rideId, event.seq),
    seq: event.seq,
    ride_id: rideId,
    data: JSON.parse(event.data),
    at: event.at,
  };
}

/** Codes 1005, 1006 and 1015 describe a close but may not be sent in one. */
function sendableCloseCode(code: number): number {
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
}
