import type { RideRow } from "../services/rides/state";

export interface StoredEvent {
  seq: number;
  type: string;
  data: string;
  at: string;
}

/**
 * A RideRoom's own SQLite storage: the ride row it decides from, its event log for `?since=`
 * replay, the driver's last position, and named timers behind the one alarm a Durable Object has.
 */
export class RideStorage {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS ride (id INTEGER PRIMARY KEY CHECK (id = 1), row TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS location (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL, at INTEGER NOT NULL, sent_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS timers (kind TEXT PRIMARY KEY, due_at INTEGER NOT NULL);
    `);
  }

  load(): RideRow | null {
    const stored = this.sql.exec<{ row: string }>("SELECT row FROM ride WHERE id = 1").toArray()[0];
    return stored ? JSON.parse(stored.row) : null;
  }

  save(row: RideRow): void {
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

  /** The driver's last position (JSON) and when it was last sent to the passenger, if any. */
  location(): { data: string; sentAt: number } | undefined {
    const row = this.sql
      .exec<{ data: string; sent_at: number }>("SELECT data, sent_at FROM location WHERE id = 1")
      .toArray()[0];
    return row ? { data: row.data, sentAt: row.sent_at } : undefined;
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
