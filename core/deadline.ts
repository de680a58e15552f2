/**
 * The gateway's one deadline helper: a call gets an `AbortSignal` that
 * aborts when its time is up (or when a parent signal aborts), and the
 * returned promise rejects at that moment with a {@link DeadlineError}.
 * The call is asked to stop, not forgotten: code that must not overlap a
 * timed-out call awaits {@link Deadlined.settled} before the next one.
 * @module
 */

/** A call that did not finish in time (`name` is `"TimeoutError"`, like `AbortSignal.timeout`). */
export class DeadlineError extends Error {
  /** Always `"call_timeout"`: lets reports tell a deadline from the call's own failure. */
  readonly code = "call_timeout";
  /**
   * @param what The call as messages name it (`"log()"`, `"create()"`).
   * @param ms Its deadline in milliseconds.
   */
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${formatMs(ms)}`);
    this.name = "TimeoutError";
  }
}

/** A call running under a deadline. */
export interface Deadlined<T> {
  /** The call's result; rejects with a {@link DeadlineError} when time is up first. */
  result: Promise<T>;
  /** Settles when the call itself has finished, however long that takes (never rejects). */
  settled: Promise<void>;
}

/**
 * Runs `call` with a signal that aborts after `ms` (or with `parent`).
 *
 * @param what The call as messages name it.
 * @param ms The deadline in milliseconds (`Infinity` for none).
 * @param call The work; it should pass the signal on (to `fetch`, to a plugin's `log`).
 * @param parent An outer signal (shutdown) that also aborts the call.
 * @returns The result and the call's own settlement.
 *
 * @example
 * ```ts
 * import { deadlined } from "./deadline.ts";
 *
 * const slow = deadlined("log()", 10, (signal) =>
 *   new Promise((resolve) => signal.addEventListener("abort", () => resolve("stopped"))));
 * await slow.result.catch((e) => e.message); // "log() did not finish within 10 ms"
 * await slow.settled; // the call saw the abort and finished
 * ```
 */
export function deadlined<T>(
  what: string,
  ms: number,
  call: (signal: AbortSignal) => T | PromiseLike<T>,
  parent?: AbortSignal,
): Deadlined<T> {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  parent?.addEventListener("abort", onParent, { once: true });
  if (parent?.aborted) onParent();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const running = Promise.resolve().then(() => call(controller.signal));
  const settled = running.then(() => {}, () => {}).finally(() => {
    clearTimeout(timer);
    parent?.removeEventListener("abort", onParent);
  });
  if (!Number.isFinite(ms)) return { result: running, settled };
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineError(what, ms);
      controller.abort(error);
      reject(error);
    }, Math.max(0, ms));
  });
  return { result: Promise.race([running, expired]), settled };
}

/**
 * {@link deadlined} for callers that only need the result.
 *
 * @example
 * ```ts
 * import { withDeadline } from "./deadline.ts";
 *
 * await withDeadline("create()", 1000, () => 42); // 42
 * ```
 */
export function withDeadline<T>(
  what: string,
  ms: number,
  call: (signal: AbortSignal) => T | PromiseLike<T>,
  parent?: AbortSignal,
): Promise<T> {
  return deadlined(what, ms, call, parent).result;
}

/**
 * Waits `ms` at most for `promise` to settle, without failing: true when it
 * settled in time. For "give it a moment, then move on" steps (a close
 * before a kill, a drain before exit).
 *
 * @example
 * ```ts
 * import { settlesWithin } from "./deadline.ts";
 *
 * await settlesWithin(Promise.resolve(), 10); // true
 * await settlesWithin(new Promise(() => {}), 10); // false
 * ```
 */
export async function settlesWithin(promise: PromiseLike<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([Promise.resolve(promise).then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Waits `ms`, or less when `signal` aborts (resolves either way, never
 * rejects): a backoff or a poll interval that shutdown cuts short.
 *
 * @example
 * ```ts
 * import { pause } from "./deadline.ts";
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 10);
 * await pause(60_000, stop.signal); // returns after about 10 ms
 * ```
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
