import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { DRIVER_INDEX_AREA_PRECISION } from "../../src/services/drivers/index-port";
import { type D1Snapshot, d1Snapshot } from "./d1-snapshot";

/**
 * Dispatch works in the background: a requested ride's room offers it in batches from its alarm,
 * writing `ride_offers` and, when nobody takes it, expiring it. Suites that compare D1 around a
 * request (a refused request must change nothing) first put every requested ride's timers and open
 * offers an hour away, so only the request under test can write. With `positions` (the default)
 * the driver indexes' pending position writes land first too.
 */
const quieted = new Set<string>();

export async function quietDispatch(options: { positions?: boolean } = {}): Promise<void> {
  if (options.positions ?? true) await flushDriverIndexes();
  // What can wake a quieted ride: its driver gave it back (its seq moves on), or an offer was
  // declined or accepted (the room is asked for the next batch at once).
  const { results } = await env.DB.prepare(
    `SELECT r.id, r.last_seq || ':' || COALESCE((SELECT group_concat(o.driver_id || o.status) FROM ride_offers o
       WHERE o.ride_id = r.id), '') AS version
     FROM rides r WHERE r.status = 'requested'`,
  ).all<{ id: string; version: string }>();
  const later = Date.now() + 3_600_000;
  for (const { id, version } of results) {
    const key = `${id}@${version}`;
    if (quieted.has(key)) continue;
    quieted.add(key);
    const room = env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(id));
    // A step already due (a ride just created) runs now, so its writes land before the baseline;
    // one already running (the alarm fired by itself) is waited for, since it reschedules itself.
    for (let attempt = 0; attempt < 10; attempt++) {
      const due = await runInDurableObject(room, (_room, state) => {
        return (
          state.storage.sql.exec("SELECT 1 FROM timers WHERE due_at <= ?", Date.now()).toArray().length > 0
        );
      });
      if (due) await runDurableObjectAlarm(room);
      const quiet = await runInDurableObject(room, async (instance, state) => {
        // The room runs every step and transition on one promise chain: drained, nothing is running.
        await (instance as unknown as { queue: Promise<unknown> }).queue;
        state.storage.sql.exec("UPDATE timers SET due_at = ?", later);
        await (instance as unknown as { queue: Promise<unknown> }).queue;
        return state.storage.sql.exec("SELECT 1 FROM timers WHERE due_at < ?", later).toArray().length === 0;
      });
      if (quiet) break;
    }
    await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ? AND status = 'open'")
      .bind(new Date(later).toISOString(), id)
      .run();
  }
}

/**
 * A driver index writes the positions its pings moved to D1 from its alarm, 30 s later: write them
 * now, so that write does not land in the middle of another request's comparison. D1's position
 * names the area whose index holds each driver.
 */
async function flushDriverIndexes(): Promise<void> {
  const { results } = await env.DB.prepare(
    "SELECT DISTINCT substr(last_cell, 1, ?) AS area FROM drivers WHERE last_cell IS NOT NULL",
  )
    .bind(DRIVER_INDEX_AREA_PRECISION)
    .all<{ area: string }>();
  for (const { area } of results) {
    await runDurableObjectAlarm(env.DRIVER_INDEX.get(env.DRIVER_INDEX.idFromName(area)));
  }
}

/**
 * After a request that succeeded: the background work it started is done or an hour away. Row
 * counts only, so the driver indexes are not flushed: their snapshot UPDATEs positions and adds or
 * removes no row (half of this call's time when it flushed, in the fuzz suite).
 */
export async function settledSnapshot(): Promise<D1Snapshot> {
  await quietDispatch({ positions: false });
  return d1Snapshot();
}
