import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { type D1Snapshot, d1Snapshot } from "./d1-snapshot";

/**
 * Dispatch works in the background: a requested ride's room offers it in batches from its alarm,
 * writing `ride_offers` and, when nobody takes it, expiring it. Suites that compare D1 around a
 * request (a refused request must change nothing) first put every requested ride's timers and open
 * offers an hour away, so only the request under test can write.
 */
const quieted = new Set<string>();

export async function quietDispatch(): Promise<void> {
  const { results } = await env.DB.prepare("SELECT id, last_seq FROM rides WHERE status = 'requested'").all<{
    id: string;
    last_seq: number;
  }>();
  const later = Date.now() + 3_600_000;
  for (const { id, last_seq } of results) {
    // A ride given back by its driver is requested again with new timers: its seq moved on.
    const key = `${id}@${last_seq}`;
    if (quieted.has(key)) continue;
    quieted.add(key);
    const room = env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(id));
    // A step already due (a ride just created) runs now, so its writes land before the baseline.
    const due = await runInDurableObject(
      room,
      (_room, state) =>
        state.storage.sql.exec("SELECT 1 FROM timers WHERE due_at <= ?", Date.now()).toArray().length > 0,
    );
    if (due) await runDurableObjectAlarm(room);
    await runInDurableObject(room, (_room, state) => {
      state.storage.sql.exec("UPDATE timers SET due_at = ?", later);
    });
    await env.DB.prepare("UPDATE ride_offers SET expires_at = ? WHERE ride_id = ? AND status = 'open'")
      .bind(new Date(later).toISOString(), id)
      .run();
  }
}

/** After a request that succeeded: the background work it started is done or an hour away. */
export async function settledSnapshot(): Promise<D1Snapshot> {
  await quietDispatch();
  return d1Snapshot();
}
