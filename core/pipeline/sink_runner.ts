/**
 * One sink's delivery loop: a bounded in-memory queue, batches by count and
 * age, confirm-then-remove, retries with exponential backoff and jitter, a
 * circuit breaker, and a durable spool for overflow and outages.
 *
 * Order is kept: once anything is spooled, new events follow it into the
 * spool until the spool has been replayed.
 * @module
 */
import type { QueueConfig } from "../config/types.ts";
import type { LogEvent } from "../event/log_event.ts";
import type { Sink } from "../plugin.ts";
import { Spool } from "./spool.ts";

/** Consecutive failures that open the circuit. */
const FAILURES_TO_OPEN = 5;
/** Longest wait between attempts. */
const MAX_BACKOFF_MS = 30_000;
/** Spool overflow is reported at most this often (the count covers the whole interval). */
const OVERFLOW_REPORT_MS = 10_000;
/** Longest time the circuit stays open before a probe. */
const MAX_OPEN_MS = 60_000;

/** Outcome counters of one sink. */
export interface SinkCounters {
  /** Events confirmed by the sink. */
  sent: number;
  /** Events the sink confirmed but deliberately did not send (its `log` said so). */
  skipped: number;
  /** Failed attempts (in events). */
  retried: number;
  /** Events written to the spool. */
  spooled: number;
  /** Events dropped (malformed, or past the spool limit). */
  dropped: number;
}

/** What a runner reports to the pipeline. */
export interface SinkRunnerHooks {
  /** An internal failure worth a `gateway_error` event (permanent failure, spool overflow). */
  gatewayError(message: string, code: string): void;
  /** Operator-facing log line. */
  log(level: "info" | "warn" | "error", message: string): void;
}

/** Options of a runner. */
export interface SinkRunnerOptions {
  /** Instance name. */
  name: string;
  /** The plugin's sink. */
  sink: Sink;
  /** Queue settings of the sink entry. */
  queue: QueueConfig;
  /** Spool directory for this sink. */
  spoolDir: string;
  /** Per-call deadline for `log()` (default 30 s). */
  callTimeoutMs?: number;
  /** Reports. */
  hooks: SinkRunnerHooks;
}

/** Delivers one sink's events. */
export class SinkRunner {
  /** Instance name. */
  readonly name: string;
  /** Outcome counters. */
  readonly counters: SinkCounters = { sent: 0, skipped: 0, retried: 0, spooled: 0, dropped: 0 };
  readonly #sink: Sink;
  readonly #queue: QueueConfig;
  readonly #hooks: SinkRunnerHooks;
  readonly #callTimeoutMs: number;
  readonly #spool: Spool;
  #memory: LogEvent[] = [];
  #oldestAt = 0;
  /** Events on their way into the spool (kept in order behind the spool). */
  #toSpool: LogEvent[] = [];
  #spoolWrite: Promise<void> = Promise.resolve();
  /** A group write to the spool is queued and will take everything in `#toSpool`. */
  #spoolWriteQueued = false;
  /** Events taken from `#toSpool` whose write has not finished. */
  #spoolWriting = 0;
  #failures = 0;
  #openUntil = 0;
  #openFor = 1000;
  #lastError = "";
  #overflowUnreported = 0;
  #overflowReportedAt = 0;
  #wake?: () => void;
  #stopping = false;
  /** Set when the stop deadline passed: the loop exits at its next step. */
  #halted = false;
  #loop?: Promise<void>;

  private constructor(options: SinkRunnerOptions, spool: Spool) {
    this.name = options.name;
    this.#sink = options.sink;
    this.#queue = options.queue;
    this.#hooks = options.hooks;
    this.#callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.#spool = spool;
  }

  /** Opens the sink's spool (replaying what an earlier run left) and starts delivering. */
  static async start(options: SinkRunnerOptions): Promise<SinkRunner> {
    const spool = await Spool.open(options.spoolDir, options.queue.spool_max_bytes);
    const runner = new SinkRunner(options, spool);
    if (spool.size > 0) options.hooks.log("info", `replaying ${spool.size} spooled events`);
    runner.#loop = runner.#run();
    return runner;
  }

  /** Events in memory (not yet spooled). */
  get queueDepth(): number {
    return this.#memory.length + this.#toSpool.length;
  }

  /** Events in the spool on disk. */
  get spoolSize(): number {
    return this.#spool.size;
  }

  /** Whether the circuit is open (the sink is failing). */
  get circuitOpen(): boolean {
    return this.#failures >= FAILURES_TO_OPEN;
  }

  /** Queues an event. Never blocks. */
  push(event: LogEvent): void {
    if (this.#stopping) return;
    if (this.#spooling()) {
      this.#toSpool.push(event);
      this.#flushToSpool();
      return;
    }
    if (this.#memory.length === 0) this.#oldestAt = performance.now();
    this.#memory.push(event);
    if (this.#memory.length > this.#queue.max_queue) this.#spill("the queue is full");
    else if (this.#memory.length === 1 || this.#memory.length >= this.#queue.batch_size) {
      this.#wake?.();
    }
  }

  /** Stops the loop: delivers what it can before `deadline` (epoch ms), spools the rest. */
  async stop(deadline: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#loop,
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    this.#halted = true;
    // Whatever is left goes to disk, to be replayed at the next start.
    if (this.#memory.length) this.#spill("the gateway is shutting down");
    this.#flushToSpool();
    await this.#spoolWrite;
    this.#reportOverflow(0, true);
    await this.#spool.close();
    try {
      await this.#withTimeout(Promise.resolve(this.#sink.flush?.()), "flush");
      await this.#withTimeout(Promise.resolve(this.#sink.close?.()), "close");
    } catch (error) {
      this.#hooks.log("warn", `failed to close: ${messageOf(error)}`);
    }
  }

  #spooling(): boolean {
    return this.#spool.size > 0 || this.#toSpool.length > 0 || this.#spoolWriting > 0 ||
      this.circuitOpen;
  }

  /** Moves the in-memory queue into the spool (order kept: memory is older than anything new). */
  #spill(reason: string): void {
    if (this.#memory.length === 0) return;
    this.#hooks.log("warn", `spooling ${this.#memory.length} events to disk: ${reason}`);
    this.#toSpool.unshift(...this.#memory);
    this.#memory = [];
    this.#flushToSpool();
  }

  /** Queues one group write (and fsync) that takes every event waiting at the time it runs. */
  #flushToSpool(): void {
    if (this.#toSpool.length === 0 || this.#spoolWriteQueued) return;
    this.#spoolWriteQueued = true;
    this.#spoolWrite = this.#spoolWrite.then(async () => {
      this.#spoolWriteQueued = false;
      const events = this.#toSpool;
      this.#toSpool = [];
      this.#spoolWriting = events.length;
      const written = await this.#spool.append(events).catch((error) => {
        this.#hooks.log("error", `spool write failed: ${messageOf(error)}`);
        return 0;
      });
      this.#spoolWriting = 0;
      this.counters.spooled += written;
      const lost = events.length - written;
      if (lost > 0) {
        this.counters.dropped += lost;
        this.#reportOverflow(lost);
      }
      this.#wake?.();
    });
  }

  /** Reports spool overflow drops at most once per interval, with the count since the last report. */
  #reportOverflow(lost: number, force = false): void {
    this.#overflowUnreported += lost;
    const now = Date.now();
    if (this.#overflowUnreported === 0) return;
    if (!force && now - this.#overflowReportedAt < OVERFLOW_REPORT_MS) return;
    const message = `spool full (spool_max_bytes ${this.#queue.spool_max_bytes}): dropped ` +
      `${this.#overflowUnreported} events` +
      (this.#overflowReportedAt
        ? ` in the last ${Math.round((now - this.#overflowReportedAt) / 1000)} s`
        : "");
    this.#overflowUnreported = 0;
    this.#overflowReportedAt = now;
    this.#hooks.log("error", message);
    this.#hooks.gatewayError(message, "spool_overflow");
  }

  async #run(): Promise<void> {
    for (;;) {
      await this.#waitForWork();
      if (this.#halted || (this.#stopping && this.#nothingToSend())) return;
      if (this.#stopping && this.circuitOpen) return; // do not hammer a dead sink at shutdown
      const fromSpool = this.#spool.size > 0 || this.#toSpool.length > 0 || this.#spoolWriting > 0;
      if (fromSpool) {
        this.#flushToSpool();
        await this.#spoolWrite;
      }
      const batch = fromSpool ? await this.#spool.read(this.#queue.batch_size) : undefined;
      const events = batch?.events ?? this.#memory.slice(0, this.#queue.batch_size);
      if (events.length === 0) {
        await batch?.commit();
        continue;
      }
      const outcome = await this.#send(events);
      if (this.#halted) return; // stop() has taken over what is left
      if (outcome === "retry") {
        if (this.#stopping) return; // the sink is failing at shutdown: stop() spools the rest
        if (!fromSpool && this.circuitOpen) this.#spill("the sink is failing");
        continue;
      }
      // Delivered, or dropped as malformed: confirm removal now, never earlier.
      if (batch) await batch.commit();
      else {
        this.#memory.splice(0, events.length);
        if (this.#memory.length) this.#oldestAt = performance.now();
      }
    }
  }

  #nothingToSend(): boolean {
    return this.#memory.length === 0 && this.#toSpool.length === 0 && this.#spool.size === 0;
  }

  /** Waits until a batch is due: full, old enough, spooled work, a probe time, or stop. */
  async #waitForWork(): Promise<void> {
    for (;;) {
      const now = performance.now();
      let wait: number;
      if (this.circuitOpen) {
        wait = this.#openUntil - Date.now();
        if (this.#stopping) return;
      } else if (
        this.#stopping || this.#spool.size > 0 || this.#toSpool.length > 0 || this.#spoolWriting > 0
      ) {
        return;
      } else if (this.#memory.length >= this.#queue.batch_size) {
        return;
      } else if (this.#memory.length > 0) {
        wait = this.#oldestAt + this.#queue.flush_interval_ms - now;
      } else {
        wait = Infinity;
      }
      if (wait <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(wait) ? setTimeout(done, wait) : undefined;
        this.#wake = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#wake = undefined;
    }
  }

  /** One delivery attempt; waits out the backoff after a failure. */
  async #send(events: LogEvent[]): Promise<"ok" | "dropped" | "retry"> {
    try {
      const result = await this.#withTimeout(Promise.resolve(this.#sink.log(events)), "log");
      const reported = Number(result?.skipped);
      const skipped = Number.isFinite(reported)
        ? Math.min(events.length, Math.max(0, Math.floor(reported)))
        : 0;
      this.counters.sent += events.length - skipped;
      this.counters.skipped += skipped;
      if (this.#failures > 0) this.#hooks.log("info", "delivering again");
      this.#failures = 0;
      this.#openFor = 1000;
      this.#lastError = "";
      return "ok";
    } catch (error) {
      const failure = error as { permanent?: unknown; retryAfterMs?: unknown };
      const message = messageOf(error);
      if (failure?.permanent === true) {
        this.counters.dropped += events.length;
        const text = `dropped ${events.length} events the sink rejected as malformed: ${message}`;
        this.#hooks.log("error", text);
        this.#hooks.gatewayError(text, "permanent_failure");
        return "dropped";
      }
      this.counters.retried += events.length;
      this.#failures++;
      if (message !== this.#lastError) {
        this.#hooks.log("warn", `delivery failed (will retry; events kept): ${message}`);
        this.#lastError = message;
      }
      const retryAfter = typeof failure?.retryAfterMs === "number" ? failure.retryAfterMs : 0;
      if (this.circuitOpen) {
        if (this.#failures === FAILURES_TO_OPEN) {
          this.#hooks.log(
            "warn",
            `circuit open after ${FAILURES_TO_OPEN} failures; spooling until it recovers`,
          );
        }
        this.#openUntil = Date.now() +
          Math.max(retryAfter, this.#openFor * (0.5 + Math.random() / 2));
        this.#openFor = Math.min(MAX_OPEN_MS, this.#openFor * 2);
        return "retry";
      }
      const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.#failures - 1)) *
        (0.5 + Math.random() / 2);
      await this.#sleep(Math.max(retryAfter, backoff));
      return "retry";
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      // A full batch does not cut a backoff short; stopping does.
      this.#wake = () => {
        if (this.#stopping) done();
      };
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  #withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}() did not finish within ${this.#callTimeoutMs} ms`)),
        this.#callTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
