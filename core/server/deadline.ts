/**
 * Coarse deadlines on one shared timer. A timer per request costs more than
 * reading a small body, so every pending deadline is checked by one
 * interval that runs only while deadlines are pending: a deadline fires
 * between `ms` and `ms + TICK_MS` after it was set.
 * @module
 */

/** How often pending deadlines are checked. */
export const TICK_MS = 50;

interface Entry {
  at: number;
  expire: () => void;
}

const pending = new Set<Entry>();
let ticker: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = performance.now();
  for (const entry of pending) {
    if (entry.at > now) continue;
    pending.delete(entry);
    entry.expire();
  }
  if (pending.size === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** A deadline: `promise` rejects with `onExpire()`'s error once `ms` have passed, unless `clear()`ed first. */
export interface Deadline {
  /** Never resolves; rejects when the deadline passes. Race it against the work. */
  promise: Promise<never>;
  /** Stops watching (the promise then never settles). */
  clear(): void;
}

/** Starts a deadline `ms` from now; `onExpire` makes the error it rejects with. */
export function deadline(ms: number, onExpire: () => Error): Deadline {
  let entry!: Entry;
  const promise = new Promise<never>((_, reject) => {
    entry = { at: performance.now() + ms, expire: () => reject(onExpire()) };
  });
  pending.add(entry);
  if (ticker === undefined) {
    ticker = setInterval(tick, TICK_MS);
    Deno.unrefTimer(ticker); // the request being timed keeps the process alive, not its deadline
  }
  return { promise, clear: () => pending.delete(entry) };
}
