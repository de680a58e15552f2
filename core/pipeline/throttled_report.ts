/**
 * A report that repeats at most once per interval: the first occurrence is
 * reported at once, later ones are counted and reported together when the
 * interval has passed (or at `flush()`), each line saying how many and over
 * how long. One per kind of failure keeps a full disk or a dead sink from
 * writing a line per event.
 * @module
 */

/** Reports at most this often by default. */
export const REPORT_INTERVAL_MS = 10_000;

/** Emits one line: how many, over what span (`""` or `" in the last 12 s"`), and what. */
export type ReportLine = (count: number, since: string, detail: string) => void;

/** Counts occurrences per detail and reports them at most once per interval. */
export class ThrottledReport {
  readonly #emit: ReportLine;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, number>();
  #reportedAt = -Infinity;
  #timer?: ReturnType<typeof setTimeout>;

  /** Creates a report that calls `emit` at most once per `intervalMs` per detail batch. */
  constructor(emit: ReportLine, intervalMs = REPORT_INTERVAL_MS) {
    this.#emit = emit;
    this.#intervalMs = intervalMs;
  }

  /** Adds `count` occurrences of `detail`. */
  add(count: number, detail: string): void {
    if (count <= 0) return;
    this.#pending.set(detail, (this.#pending.get(detail) ?? 0) + count);
    const due = this.#reportedAt + this.#intervalMs - Date.now();
    if (due <= 0) this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => this.flush(), due);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Reports whatever is counted now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const now = Date.now();
    const since = Number.isFinite(this.#reportedAt)
      ? ` in the last ${Math.max(1, Math.round((now - this.#reportedAt) / 1000))} s`
      : "";
    this.#reportedAt = now;
    for (const [detail, count] of this.#pending) this.#emit(count, since, detail);
    this.#pending.clear();
  }
}
