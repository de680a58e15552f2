/**
 * Upstream deadlines without a timer per request: one interval (while any
 * deadline is pending) aborts the controllers whose time has come. Deadlines
 * are seconds long, so a sweep every 50 ms is precise enough.
 * @module
 */

/** One tracked deadline. */
export interface Deadline {
  /** `performance.now()` at which it fires. */
  readonly at: number;
  /** Aborted (with a `TimeoutError`) when the deadline passes. */
  readonly controller: AbortController;
}

const SWEEP_MS = 50;

/** A set of deadlines swept by one interval timer. */
export class Deadlines {
  readonly #pending = new Set<Deadline>();
  #timer?: ReturnType<typeof setInterval>;

  /** Starts a deadline `ms` from now. */
  start(ms: number): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, controller: new AbortController() };
    this.#pending.add(deadline);
    if (this.#timer === undefined) this.#timer = setInterval(() => this.#sweep(), SWEEP_MS);
    return deadline;
  }

  /** Stops tracking a deadline (the call finished). */
  clear(deadline: Deadline): void {
    this.#pending.delete(deadline);
  }

  #sweep(): void {
    const now = performance.now();
    for (const d of this.#pending) {
      if (d.at <= now) {
        this.#pending.delete(d);
        d.controller.abort(new DOMException("upstream timed out", "TimeoutError"));
      }
    }
    if (this.#pending.size === 0) this.stop();
  }

  /** Stops the interval (pending deadlines no longer fire). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
