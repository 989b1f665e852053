// Sockets for the bench's scenarios (Node 22's global WebSocket client): open one with the access
// token in the subprotocol header, and wait for an event of a type to arrive on it.

const OPEN_TIMEOUT_MS = 15_000;
export const EVENT_TIMEOUT_MS = 15_000;

/** The access token goes in the subprotocol header: the API refuses it in the URL. */
export function openSocket(wsUrl, token) {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, ["bearer", token]);
    const messages = [];
    const waiters = new Set();
    const entry = { socket, messages, waiters, opened: false, closed: null, error: null };
    const timer = setTimeout(() => {
      entry.error = "open timed out";
      resolve(entry);
    }, OPEN_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      entry.opened = true;
      clearTimeout(timer);
      resolve(entry);
    });
    socket.addEventListener("message", (event) => {
      const at = performance.now();
      let message;
      try {
        message = JSON.parse(typeof event.data === "string" ? event.data : "");
      } catch {
        message = { type: "(not json)", raw: String(event.data).slice(0, 200) };
      }
      messages.push({ at, message });
      for (const wake of waiters) wake();
    });
    socket.addEventListener("error", (event) => {
      entry.error = event.message ?? "socket error";
    });
    socket.addEventListener("close", (event) => {
      entry.closed = { code: event.code, reason: event.reason };
      clearTimeout(timer);
      resolve(entry);
      for (const wake of waiters) wake();
    });
  });
}

/**
 * When a message matching `matches` reached each of `entries` (its arrival time, or null).
 * Resolves `graceMs` after the first arrival, when the others of one fan-out have come, or after
 * `timeoutMs` with none, rather than waiting the whole timeout on sockets it was never sent to.
 */
export function arrivalsOf(entries, matches, { timeoutMs, graceMs }) {
  return new Promise((resolve) => {
    const times = entries.map(() => null);
    let timer = setTimeout(finish, timeoutMs);
    let graceStarted = false;
    const checks = entries.map((entry, i) => () => {
      if (times[i] !== null) return;
      const found = entry.messages.find((m) => matches(m.message));
      if (!found) return;
      times[i] = found.at;
      if (times.every((t) => t !== null)) return finish();
      if (graceStarted) return;
      graceStarted = true;
      clearTimeout(timer);
      timer = setTimeout(finish, graceMs);
    });
    function finish() {
      clearTimeout(timer);
      for (const [i, entry] of entries.entries()) entry.waiters.delete(checks[i]);
      resolve(times);
    }
    for (const [i, entry] of entries.entries()) entry.waiters.add(checks[i]);
    for (const check of checks) check();
  });
}

/**
 * Resolves with the time the first message of `type` arrived (or null after the timeout); `type`
 * may also be a predicate over the message.
 */
export function arrivalOf(entry, type, timeoutMs) {
  const matches = typeof type === "function" ? type : (message) => message?.type === type;
  return new Promise((resolve) => {
    const check = () => {
      const found = entry.messages.find((m) => matches(m.message));
      if (found || entry.closed) {
        entry.waiters.delete(check);
        clearTimeout(timer);
        resolve(found ? found.at : null);
      }
    };
    const timer = setTimeout(() => {
      entry.waiters.delete(check);
      resolve(null);
    }, timeoutMs);
    entry.waiters.add(check);
    check();
  });
}
