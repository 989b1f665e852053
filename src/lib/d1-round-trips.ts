import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Counts D1 round trips: a development and test instrument, never on in staging or production
 * (`loadConfig` refuses `D1_ROUND_TRIP_HEADER=true` there). From São Paulo every round trip that
 * waits on the one before costs ~120 ms (D1's primary cannot be in South America), so what
 * matters is how many a request makes one after another, not only how many.
 *
 * - A round trip is one call of `first`/`all`/`run`/`raw` on a prepared statement, or one
 *   `batch` (however many statements) or `exec` on the database.
 * - `sequential` counts waves: a call that starts while another is in flight joins its wave; a
 *   call that starts when none is in flight opens a new one. Waves are what the user waits for.
 * - Round trips made inside a Durable Object on the request's path are added to the caller's:
 *   the object reports its own count in its reply (`reportingObject`).
 *
 * Counting wraps the D1 binding (`installRoundTripCounting`; a Durable Object's and a queue
 * consumer's calls go through the same binding object) and attributes each call to the counter of
 * the async context it starts in; calls outside any counted context go only to the isolate's
 * totals.
 */

export interface RoundTripFigures {
  /** Round trips (a batch is one). */
  total: number;
  /** Waves of round trips, each waiting on the one before. */
  sequential: number;
  /** SQL statements sent (a batch counts each of its statements). */
  statements: number;
}

export class RoundTripCounter {
  total = 0;
  sequential = 0;
  statements = 0;
  private inFlight = 0;

  /** With `trace`, the start of each round trip's SQL, in order (tests: what to batch). */
  constructor(readonly trace?: string[]) {}

  /** A round trip starts; the returned function ends it. */
  start(statements: number, label?: () => string): () => void {
    if (this.trace && label) this.trace.push(`${this.inFlight === 0 ? "wave" : "same wave"}: ${label()}`);
    this.total += 1;
    this.statements += statements;
    if (this.inFlight === 0) this.sequential += 1;
    this.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
    };
  }

  /** A Durable Object's round trips made while the caller waited on it. */
  add(nested: RoundTripFigures): void {
    this.total += nested.total;
    this.sequential += nested.sequential;
    this.statements += nested.statements;
  }

  figures(): RoundTripFigures {
    return { total: this.total, sequential: this.sequential, statements: this.statements };
  }
}

const context = new AsyncLocalStorage<RoundTripCounter>();
/** Every round trip the isolate made since counting was installed (the dev stats route). */
const isolate = new RoundTripCounter();
/** Counters that see every round trip of the isolate while registered (tests). */
const observers = new Set<RoundTripCounter>();

type Callable = (this: unknown, ...args: unknown[]) => unknown;

/** The first words of a statement's SQL (workerd keeps it as `statement`). */
function sqlOf(statement: unknown): string {
  const sql = (statement as { statement?: unknown })?.statement;
  return typeof sql === "string" ? sql.replace(/\s+/g, " ").trim().slice(0, 60) : "?";
}

function counted(original: Callable, statementsOf: (args: unknown[]) => number): Callable {
  return function (this: unknown, ...args: unknown[]) {
    const n = statementsOf(args);
    const label = () =>
      Array.isArray(args[0])
        ? `batch [${args[0].map(sqlOf).join("; ")}]`
        : sqlOf(typeof args[0] === "string" ? { statement: args[0] } : this);
    const ends = [isolate.start(n)];
    const own = context.getStore();
    if (own) ends.push(own.start(n, label));
    for (const observer of observers) ends.push(observer.start(n, label));
    const end = () => {
      for (const e of ends) e();
    };
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      end();
      throw error;
    }
    if (result instanceof Promise) result.then(end, end);
    else end();
    return result;
  };
}

const countedBindings = new WeakSet<object>();
let statementsCounted = false;

/** The database's own round trips: one each, however many statements a batch carries. */
const DATABASE_METHODS: [string, (args: unknown[]) => number][] = [
  ["batch", (args) => (Array.isArray(args[0]) ? args[0].length : 1)],
  ["exec", (args) => (typeof args[0] === "string" ? args[0].split("\n").filter((l) => l.trim()).length : 1)],
];

/**
 * Counts every round trip made through this D1 binding (idempotent). A prepared statement's
 * methods live on its prototype, patched once for the isolate. The binding carries its own bound
 * copies of `batch` and `exec` (workerd binds them when it builds the binding, so patching the
 * class's prototype does not reach them): those are wrapped on the binding itself. The Worker,
 * its Durable Objects and the tests share the one binding object of the isolate.
 */
export function installRoundTripCounting(db: D1Database): void {
  if (countedBindings.has(db)) return;
  countedBindings.add(db);
  if (!statementsCounted) {
    statementsCounted = true;
    const statement = Object.getPrototypeOf(db.prepare("SELECT 1")) as Record<string, Callable>;
    for (const method of ["first", "all", "run", "raw"]) {
      const original = statement[method];
      if (typeof original === "function") statement[method] = counted(original, () => 1);
    }
  }
  const binding = db as unknown as Record<string, Callable>;
  for (const [method, statementsOf] of DATABASE_METHODS) {
    const original = binding[method];
    if (typeof original !== "function") continue;
    // Own (bound) copy or not, the binding's own property shadows the prototype from now on.
    Object.defineProperty(db, method, {
      value: counted(original, statementsOf),
      writable: true,
      configurable: true,
    });
  }
}

/** Runs `work` with its own counter: every round trip started in its async context counts there. */
export function withRoundTrips<T>(counter: RoundTripCounter, work: () => T): T {
  return context.run(counter, work);
}

/** Registers a counter that sees every round trip of the isolate until the returned stop. */
export function observeRoundTrips(counter: RoundTripCounter): () => void {
  observers.add(counter);
  return () => observers.delete(counter);
}

export function isolateRoundTrips(): RoundTripFigures {
  return isolate.figures();
}

/** The response header: `total=3, sequential=2, statements=5`; on a request, SKIP_COUNTING. */
export const ROUND_TRIP_HEADER = "x-d1-round-trips";
/** The header's value on a request not to be counted (its reply then carries no header). */
export const SKIP_COUNTING = "skip";

export function formatRoundTrips(f: RoundTripFigures): string {
  return `total=${f.total}, sequential=${f.sequential}, statements=${f.statements}`;
}

/** On only when asked for, and never in staging or production whatever the variable says. */
export function roundTripsEnabled(env: unknown): boolean {
  const { D1_ROUND_TRIP_HEADER, APP_ENV } = env as { D1_ROUND_TRIP_HEADER?: string; APP_ENV?: string };
  return D1_ROUND_TRIP_HEADER === "true" && (APP_ENV === "development" || APP_ENV === "test");
}

// --- Durable Objects: the count crosses the RPC boundary in the reply ---

/** The RPC method a counted call goes through: runs `method(...args)` and returns its count too. */
export const COUNTED_CALL = "d1CountedCall";

interface CountedReply {
  value: unknown;
  roundTrips: RoundTripFigures;
}

/**
 * Adds the counted-call method to a Durable Object class: it runs one of the object's own methods
 * and reports the round trips it made. Only a stub can reach it, and the Worker calls it only while
 * the instrumentation is on (`countingEnv`); it grants nothing a direct call of the method does not.
 */
export function reportingObject(objectClass: { prototype: object }): void {
  Object.defineProperty(objectClass.prototype, COUNTED_CALL, {
    value: async function (
      this: Record<string, unknown> & { env: unknown },
      method: string,
      args: unknown[],
    ): Promise<CountedReply> {
      const target = this[method];
      if (method === COUNTED_CALL || method === "constructor" || typeof target !== "function") {
        throw new Error(`no method ${method}`);
      }
      const db = (this.env as { DB?: D1Database }).DB;
      if (db) installRoundTripCounting(db);
      const counter = new RoundTripCounter();
      const value = await withRoundTrips(counter, () => (target as Callable).apply(this, args));
      return { value, roundTrips: counter.figures() };
    },
    writable: false,
    enumerable: false,
  });
}

/** Stub members that are not the object's RPC methods and are passed through untouched. */
const PASS_THROUGH = new Set(["fetch", "connect", "id", "name", "then", "dup"]);

function countingStub(stub: object, counter: RoundTripCounter): object {
  return new Proxy(stub, {
    get(target, prop) {
      if (typeof prop !== "string" || PASS_THROUGH.has(prop)) {
        const member = Reflect.get(target, prop);
        return typeof member === "function" ? member.bind(target) : member;
      }
      return async (...args: unknown[]) => {
        // Called as a method of the stub: an RPC method taken off its stub has no `call`.
        const stub = target as { [COUNTED_CALL]: (method: string, a: unknown[]) => Promise<CountedReply> };
        const reply = await stub[COUNTED_CALL](prop, args);
        counter.add(reply.roundTrips);
        return reply.value;
      };
    },
  });
}

function countingNamespace(namespace: DurableObjectNamespace, counter: RoundTripCounter) {
  return new Proxy(namespace, {
    get(target, prop) {
      const member = Reflect.get(target, prop);
      if (typeof member !== "function") return member;
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) =>
          countingStub((member as Callable).apply(target, args) as object, counter);
      }
      return member.bind(target);
    },
  });
}

/**
 * The request's env with every Durable Object namespace wrapped so that calls on its stubs go
 * through the counted-call method and their round trips add to `counter`.
 */
export function countingEnv<E extends object>(env: E, counter: RoundTripCounter): E {
  const wrapped: Record<string, unknown> = { ...(env as Record<string, unknown>) };
  for (const [name, value] of Object.entries(env)) {
    if (value && typeof (value as { idFromName?: unknown }).idFromName === "function") {
      wrapped[name] = countingNamespace(value as DurableObjectNamespace, counter);
    }
  }
  return wrapped as unknown as E;
}
