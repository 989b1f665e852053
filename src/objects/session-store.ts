import type { UserRole } from "../db/schema";
import {
  judgeSession,
  type SessionState,
  type SessionsEnd,
  type SessionVerdict,
} from "../services/auth/session-verdict";

type Account = { role: UserRole; status: "active" | "blocked"; stamp: string };

/**
 * A user's session state inside the user's channel, in the object's SQLite storage: the account
 * (role, status, D1 stamp) and one row per session known, `live` 1, or 0 for a session this
 * object ended. Cold (no account row: first use, or storage lost) it fills itself from D1 with one
 * read; afterwards it is changed only by the services that change D1, and serves from storage.
 *
 * An ended session's row (0) outlives a reload until D1 agrees the session is over: ends are
 * written here before D1, and a reload in between must not bring the session back. Families are
 * never revived in D1, so a row D1 no longer lists as live can go.
 */
export class SessionStore {
  private loading: Promise<void> | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly load: (userId: string) => Promise<SessionState | null>,
  ) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS auth_account (one INTEGER PRIMARY KEY CHECK (one = 1), role TEXT NOT NULL, status TEXT NOT NULL, stamp TEXT NOT NULL)",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS auth_sessions (session_id TEXT PRIMARY KEY, live INTEGER NOT NULL)");
  }

  async check(userId: string, sessionId: string): Promise<SessionVerdict> {
    await this.ready(userId);
    return judgeSession(this.account(), this.isLive(sessionId));
  }

  async started(
    userId: string,
    sessionId: string,
    seen: { stamp: string; account?: { role: UserRole; status: "active" | "blocked" } },
  ): Promise<void> {
    await this.settled();
    const held = this.account();
    if (!held && seen.account) {
      this.writeAccount({ ...seen.account, stamp: seen.stamp });
    } else if (!held || held.stamp !== seen.stamp) {
      await this.fresh(userId);
    }
    this.sql.exec(
      "INSERT INTO auth_sessions (session_id, live) VALUES (?, 1) ON CONFLICT DO NOTHING",
      sessionId,
    );
  }

  async seen(userId: string, stamp: string): Promise<void> {
    await this.settled();
    const held = this.account();
    if (held && held.stamp !== stamp) await this.fresh(userId);
  }

  async end(userId: string, end: SessionsEnd): Promise<boolean> {
    await this.ready(userId);
    if ("exceptSessionId" in end) {
      if (!this.isLive(end.exceptSessionId)) return false;
      this.sql.exec("UPDATE auth_sessions SET live = 0 WHERE session_id <> ?", end.exceptSessionId);
    } else if ("sessionId" in end) {
      this.sql.exec(
        "INSERT INTO auth_sessions (session_id, live) VALUES (?, 0) ON CONFLICT (session_id) DO UPDATE SET live = 0",
        end.sessionId,
      );
    } else {
      this.sql.exec("UPDATE auth_sessions SET live = 0");
    }
    return true;
  }

  async setStatus(userId: string, status: "active" | "blocked"): Promise<void> {
    await this.ready(userId);
    this.sql.exec("UPDATE auth_account SET status = ?", status);
    if (status === "blocked") this.sql.exec("UPDATE auth_sessions SET live = 0");
  }

  private account(): Account | null {
    return this.sql.exec<Account>("SELECT role, status, stamp FROM auth_account").toArray()[0] ?? null;
  }

  private isLive(sessionId: string): boolean {
    return (
      this.sql
        .exec<{ live: number }>("SELECT live FROM auth_sessions WHERE session_id = ?", sessionId)
        .toArray()[0]?.live === 1
    );
  }

  private writeAccount(account: Account): void {
    this.sql.exec(
      "INSERT INTO auth_account (one, role, status, stamp) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET role = excluded.role, status = excluded.status, stamp = excluded.stamp",
      account.role,
      account.status,
      account.stamp,
    );
  }

  /** Waits out a fill in flight (a change applied after it, not overwritten by it). */
  private async settled(): Promise<void> {
    await this.loading?.catch(() => undefined);
  }

  private async ready(userId: string): Promise<void> {
    await this.settled();
    if (!this.account()) await this.fresh(userId);
  }

  /**
   * A fill whose D1 read starts after this call (so after every D1 commit its caller has seen),
   * queued behind any fill in flight. The object's other calls interleave while D1 answers;
   * each of them waits for `loading` before touching the state.
   */
  private fresh(userId: string): Promise<void> {
    const run = (this.loading ?? Promise.resolve()).catch(() => undefined).then(() => this.fill(userId));
    const tracked: Promise<void> = run.finally(() => {
      if (this.loading === tracked) this.loading = undefined;
    });
    this.loading = tracked;
    return tracked;
  }

  private async fill(userId: string): Promise<void> {
    const state = await this.load(userId);
    if (!state) return;
    const inD1 = new Set(state.live);
    const ended = this.sql
      .exec<{ session_id: string }>("SELECT session_id FROM auth_sessions WHERE live = 0")
      .toArray()
      .map((row) => row.session_id)
      .filter((id) => inD1.has(id));
    this.sql.exec("DELETE FROM auth_sessions");
    for (const id of ended) this.sql.exec("INSERT INTO auth_sessions (session_id, live) VALUES (?, 0)", id);
    for (const id of state.live) {
      this.sql.exec("INSERT INTO auth_sessions (session_id, live) VALUES (?, 1) ON CONFLICT DO NOTHING", id);
    }
    this.writeAccount({ role: state.role, status: state.status, stamp: state.stamp });
  }
}
