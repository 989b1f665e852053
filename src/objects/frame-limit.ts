/**
 * At most this many frames per socket per second reach a handler; a driver app sends its position
 * every 2–4 s, so ten a second is far above honest use. "ping" is answered by the runtime's
 * auto-response and never counts.
 */
export const MAX_FRAMES_PER_SECOND = 10;

/**
 * Counts each socket's frames in the current second. The count lives in memory: an object that
 * hibernates has been idle, so starting again from zero after waking lets nothing through that
 * the limit is meant to stop.
 */
export class FrameMeter {
  private readonly windows = new WeakMap<WebSocket, { second: number; count: number }>();

  /** Counts one frame; false when the socket has passed the limit in this second. */
  admit(ws: WebSocket, nowMs: number = Date.now()): boolean {
    const second = Math.floor(nowMs / 1000);
    const window = this.windows.get(ws);
    const count = window?.second === second ? window.count + 1 : 1;
    this.windows.set(ws, { second, count });
    return count <= MAX_FRAMES_PER_SECOND;
  }
}
