import { env } from "cloudflare:workers";
import { expect } from "vitest";

/**
 * What a refused request must leave alone, read in one D1 batch per database: the row count of
 * every table of the platform's database and of the Efí sandbox's (a refused request must not
 * create a charge there either), and with `content`, a digest of every table's rows too, so an
 * UPDATE is caught as well as an INSERT or DELETE.
 */
export interface D1Snapshot {
  counts: Record<string, number>;
  digests?: Record<string, string>;
}

const DATABASES = { app: () => env.DB, efi_sandbox: () => env.EFI_SANDBOX_DB } as const;
type DatabaseName = keyof typeof DATABASES;

const tableLists = new Map<DatabaseName, Promise<string[]>>();

/** Tables from sqlite_master, once per file (migrations ran before the first test). */
function tablesOf(name: DatabaseName): Promise<string[]> {
  let list = tableLists.get(name);
  if (!list) {
    list = DATABASES[name]()
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .all<{ name: string }>()
      .then(({ results }) => results.map((r) => r.name));
    tableLists.set(name, list);
  }
  return list;
}

export async function d1Snapshot(options: { content?: boolean } = {}): Promise<D1Snapshot> {
  const snapshot: D1Snapshot = { counts: {}, ...(options.content ? { digests: {} } : {}) };
  // One batch per database, both at once: a D1 round trip costs far more than a small query.
  const read = async (name: DatabaseName) => {
    const db = DATABASES[name]();
    const tables = await tablesOf(name);
    const sql = (t: string) =>
      options.content ? `SELECT * FROM "${t}" ORDER BY rowid` : `SELECT COUNT(*) AS n FROM "${t}"`;
    const results = await db.batch<Record<string, unknown>>(tables.map((t) => db.prepare(sql(t))));
    for (const [i, t] of tables.entries()) {
      const rows = results[i]?.results ?? [];
      const key = `${name}.${t}`;
      if (!snapshot.digests) {
        snapshot.counts[key] = Number(rows[0]?.n ?? -1);
        continue;
      }
      snapshot.counts[key] = rows.length;
      snapshot.digests[key] = await digest(JSON.stringify(rows));
    }
  };
  await Promise.all((Object.keys(DATABASES) as DatabaseName[]).map(read));
  return snapshot;
}

async function digest(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Tables a refused request may write by design (e.g. a failed sign-in counts against a limit). */
export function withoutTables(snapshot: D1Snapshot, tables: readonly string[] = []): D1Snapshot {
  const keep = (key: string) => !tables.some((t) => key === `app.${t}` || key === t);
  const pick = (record: Record<string, any>) =>
    Object.fromEntries(Object.entries(record).filter(([k]) => keep(k)));
  return {
    counts: pick(snapshot.counts),
    ...(snapshot.digests ? { digests: pick(snapshot.digests) } : {}),
  };
}

/** Asserts two snapshots agree, naming the tables that differ. */
export function expectUnchanged(
  before: D1Snapshot,
  after: D1Snapshot,
  what: string,
  ignore: readonly string[] = [],
) {
  const a = withoutTables(before, ignore);
  const b = withoutTables(after, ignore);
  const changed = Object.keys({ ...a.counts, ...b.counts }).filter(
    (t) => a.counts[t] !== b.counts[t] || a.digests?.[t] !== b.digests?.[t],
  );
  const detail = changed.map((t) => `${t}: ${a.counts[t]} -> ${b.counts[t]} rows`).join(", ");
  expect(changed, `${what} changed D1: ${detail}`).toEqual([]);
}
