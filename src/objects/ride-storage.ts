import type { RideRow } from "../services/rides/state";
import { TRACE_MAX_POINTS, type TracePoint, worthStoring } from "../services/rides/trip-measure";

export interface StoredEvent {
  seq: number;
  type: string;
  data: string;
  at: string;
}

/**
 * A RideRoom's own SQLite storage: the ride row it decides from, its event log for `?since=`
 * replay, the driver's last position, the trip's trace (the assigned driver's positions while
 * the ride is in progress, thinned and bounded as `worthStoring` and TRACE_MAX_POINTS say), the
 * passenger's "ended early" mark, and named timers behind the one alarm a Durable Object has.
 */
export class RideStorage {
  private readonly sql: SqlStorage;

  /**
   * Whether this object holds a ride. The tables are created by the first `save` (a ride being
   * created here), not on construction: a room addressed by an id that names no ride (a guess, a
   * typo) answers "no such ride" and stores nothing.
   */
  private ready: boolean;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.ready =
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ride'").toArray().length >
      0;
  }

  load(): RideRow | null {
    if (!this.ready) return null;
    const stored = this.sql.exec<{ row: string }>("SELECT row FROM ride WHERE id = 1").toArray()[0];
    return stored ? JSON.parse(stored.row) : null;
  }

  save(row: RideRow): void {
    if (!this.ready) {
      this.sql.exec(`
      CREATE TABLE IF NOT EXISTS ride (id INTEGER PRIMARY KEY CHECK (id = 1), row TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS location (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL, at INTEGER NOT NULL, sent_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS timers (kind TEXT PRIMARY KEY, due_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS trace (n INTEGER PRIMARY KEY, lat REAL NOT NULL, lng REAL NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, at TEXT NOT NULL);
    `);
      this.ready = true;
    }
    this.sql.exec(
      "INSERT INTO ride (id, row) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET row = excluded.row",
      JSON.stringify(row),
    );
  }

  /** Appends to the log; an event already there (same seq) is kept as it was. */
  appendEvent(event: StoredEvent): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO events (seq, type, data, at) VALUES (?, ?, ?, ?)",
      event.seq,
      event.type,
      event.data,
      event.at,
    );
  }

  eventsAfter(seq: number): StoredEvent[] {
    return this.sql
      .exec<{ seq: number; type: string; data: string; at: string }>(
        "SELECT seq, type, data, at FROM events WHERE seq > ? ORDER BY seq",
        seq,
      )
      .toArray();
  }

  /** The driver's last position (JSON), when it came, and when it was last sent to the passenger. */
  location(): { data: string; at: number; sentAt: number } | undefined {
    const row = this.sql
      .exec<{ data: string; at: number; sent_at: number }>(
        "SELECT data, at, sent_at FROM location WHERE id = 1",
      )
      .toArray()[0];
    return row ? { data: row.data, at: row.at, sentAt: row.sent_at } : undefined;
  }

  /** Appends a trip position unless it is too close to the last one kept or the trace is full. */
  appendTrace(point: TracePoint): void {
    const last = this.sql
      .exec<{ n: number; lat: number; lng: number; at: number }>(
        "SELECT n, lat, lng, at FROM trace ORDER BY n DESC LIMIT 1",
      )
      .toArray()[0];
    // n counts from 1 without gaps (rows are never deleted), so the last n is the number of rows.
    if (last && last.n >= TRACE_MAX_POINTS) return;
    if (!worthStoring(last, point)) return;
    this.sql.exec("INSERT INTO trace (lat, lng, at) VALUES (?, ?, ?)", point.lat, point.lng, point.at);
  }

  trace(): TracePoint[] {
    return this.sql
      .exec<{ lat: number; lng: number; at: number }>("SELECT lat, lng, at FROM trace ORDER BY n")
      .toArray();
  }

  /** Drops where the trip went: the trace and the driver's last position (the ride stays). */
  forgetTrip(): void {
    this.sql.exec("DELETE FROM trace");
    this.sql.exec("DELETE FROM location");
  }

  /**
   * The ride's places rounded to 2 decimal places (about 1 km) in its row and in every event that
   * carries them, and its cancel reason dropped: what erasure does to the same ride in D1.
   */
  roundPlaces(): void {
    this.sql.exec(`UPDATE ride SET row = json_set(row,
      '$.pickupLat', round(json_extract(row, '$.pickupLat'), 2), '$.pickupLng', round(json_extract(row, '$.pickupLng'), 2),
      '$.dropoffLat', round(json_extract(row, '$.dropoffLat'), 2), '$.dropoffLng', round(json_extract(row, '$.dropoffLng'), 2),
      '$.cancelReason', NULL)`);
    this.sql.exec(`UPDATE events SET data = json_set(data,
      '$.pickup.lat', round(json_extract(data, '$.pickup.lat'), 2), '$.pickup.lng', round(json_extract(data, '$.pickup.lng'), 2),
      '$.dropoff.lat', round(json_extract(data, '$.dropoff.lat'), 2), '$.dropoff.lng', round(json_extract(data, '$.dropoff.lng'), 2),
      '$.cancel_reason', NULL)
      WHERE json_valid(data) AND json_type(data, '$.pickup') = 'object'`);
  }

  /** Sets a named moment once (a second call keeps the first); answers whether this call set it. */
  mark(name: string, at: string): boolean {
    return this.sql.exec("INSERT OR IGNORE INTO marks (name, at) VALUES (?, ?)", name, at).rowsWritten > 0;
  }

  marked(name: string): string | undefined {
    return this.sql.exec<{ at: string }>("SELECT at FROM marks WHERE name = ?", name).toArray()[0]?.at;
  }

  saveLocation(data: string, at: number, sentAt: number): void {
    this.sql.exec(
      "INSERT INTO location (id, data, at, sent_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, at = excluded.at, sent_at = excluded.sent_at",
      data,
      at,
      sentAt,
    );
  }

  schedule(kind: string, dueAt: number): void {
    this.sql.exec(
      "INSERT INTO timers (kind, due_at) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET due_at = excluded.due_at",
      kind,
      dueAt,
    );
    this.armAlarm();
  }

  dueTimers(now: number): string[] {
    return this.sql
      .exec<{ kind: string }>("SELECT kind FROM timers WHERE due_at <= ?", now)
      .toArray()
      .map((t) => t.kind);
  }

  /** Drops one timer, or every timer (a terminal ride has nothing left to wait for). */
  cancelTimers(kind?: string): void {
    if (kind) this.sql.exec("DELETE FROM timers WHERE kind = ?", kind);
    else this.sql.exec("DELETE FROM timers");
  }

  /** Points the object's single alarm at the earliest timer, or clears it. */
  armAlarm(): void {
    const next = this.sql
      .exec<{ due: number | null }>("SELECT min(due_at) AS due FROM timers")
      .toArray()[0]?.due;
    if (next) this.storage.setAlarm(next);
    else this.storage.deleteAlarm();
  }
}
