/**
 * One sink's delivery loop over its write-ahead log: every event is
 * appended to the log (group commit: one write and fsync per `fsyncMs` at
 * most) before it can be delivered, and released only after the sink
 * confirms it. Batches by count and age, retries with exponential backoff
 * and jitter, and a circuit breaker that waits on a timer while it is open.
 *
 * The newest events are kept in memory (up to `max_queue`) so a healthy sink
 * is fed without reading the disk; past that, events live only in the log
 * and are read back in order. Events the log could not take (a full disk,
 * `spool_max_bytes`) stay in memory while there is room and are delivered
 * from there: a crash loses them, a healthy sink still gets them.
 *
 * The loop never spins: whenever nothing can be sent it waits on a timer or
 * on the next event.
 * @module
 */
import type { QueueConfig } from "../config/types.ts";
import { minimalEvent } from "../event/minimal.ts";
import type { LogEvent } from "../event/log_event.ts";
import type { Sink } from "../plugin.ts";
import { deadlined, DeadlineError, settlesWithin } from "../deadline.ts";
import { ThrottledReport } from "./throttled_report.ts";
import { truncateEvent } from "../event/truncate.ts";
import { exceedsJsonDepth } from "../json_depth.ts";
import { type AppendResult, WriteAheadLog } from "./wal.ts";
import { RecentIds } from "../sink_http.ts";

/** Consecutive failures that open the circuit. */
const FAILURES_TO_OPEN = 5;
/** Longest wait between attempts. */
const MAX_BACKOFF_MS = 30_000;
/** Longest time the circuit stays open before a probe. */
const MAX_OPEN_MS = 60_000;
/** Default group-commit interval. */
export const DEFAULT_FSYNC_MS = 20;
/**
 * Deepest nesting an event may have (request bodies are limited to
 * `server.max_json_depth` ≤ 1024, and the event adds a few levels).
 */
const MAX_EVENT_DEPTH = 1100;
/** Default largest event line (`log.max_event_bytes`). */
export const DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024;
/**
 * Most bytes of event lines waiting for their group commit. A burst (a batch
 * from the request thread while an fsync is slow) waits here; past this the
 * disk is slower than the traffic, and events are dropped and counted.
 */
const MAX_INCOMING_BYTES = 64 * 1024 * 1024;

/**
 * How many recent events a runner remembers by `request_id` for
 * {@link SinkRunner.deliveryOf} (routed here, confirmed, dropped).
 */
export const TRACKED_EVENTS = 20_000;

/**
 * Where one event stands with one sink: confirmed by it, waiting in memory,
 * waiting in the write-ahead log on disk, waiting while deliveries fail, or
 * dropped (malformed, or lost past the spool limit).
 */
export type EventDelivery = "sent" | "queued" | "spooled" | "retrying" | "dropped";

/** Outcome counters of one sink. */
export interface SinkCounters {
  /** Events confirmed by the sink. */
  sent: number;
  /** Events the sink confirmed but deliberately did not send (its `log` said so). */
  skipped: number;
  /** Failed attempts (in events). */
  retried: number;
  /** Events written to the write-ahead log. */
  spooled: number;
  /** Events dropped (malformed, past the spool limit with memory full, lost at shutdown). */
  dropped: number;
  /** Events that could not be serialised and were replaced by a minimal event. */
  replaced: number;
  /** Events over `log.max_event_bytes` whose content was cut. */
  truncated: number;
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
  /** Write-ahead log directory for this sink. */
  spoolDir: string;
  /** Longest wait between an event's arrival and its fsync (default {@link DEFAULT_FSYNC_MS}). */
  fsyncMs?: number;
  /** Per-call deadline for `log()` (default 30 s). */
  callTimeoutMs?: number;
  /** Largest event line; a larger event's content is cut (default {@link DEFAULT_MAX_EVENT_BYTES}). */
  maxEventBytes?: number;
  /** Reports. */
  hooks: SinkRunnerHooks;
}

/** An event in memory; `lsn` is set once it is in the log. */
interface Entry {
  event: LogEvent;
  lsn?: number;
  /** When it became deliverable (performance.now()). */
  at: number;
}

/** Delivers one sink's events. */
export class SinkRunner {
  /** Instance name. */
  readonly name: string;
  /** Outcome counters. */
  readonly counters: SinkCounters = {
    sent: 0,
    skipped: 0,
    retried: 0,
    spooled: 0,
    dropped: 0,
    replaced: 0,
    truncated: 0,
  };
  readonly #sink: Sink;
  readonly #queue: QueueConfig;
  readonly #hooks: SinkRunnerHooks;
  readonly #callTimeoutMs: number;
  readonly #fsyncMs: number;
  readonly #maxEventBytes: number;
  readonly #wal: WriteAheadLog;
  /** Events waiting for the next group commit, with their log lines. */
  #incoming: { event: LogEvent; line: string }[] = [];
  #incomingBytes = 0;
  #commitTimer?: ReturnType<typeof setTimeout>;
  #committing?: Promise<void>;
  #lastCommitAt = -Infinity;
  /** Deliverable events in memory, oldest first (logged ones in log order). */
  #memory: Entry[] = [];
  /** Logged events not in memory, `[from, to)` in LSNs: newer than everything in `#memory`. */
  #diskTail?: { from: number; to: number };
  #failures = 0;
  #openUntil = 0;
  #openFor = 1000;
  #lastError = "";
  readonly #writeErrors: ThrottledReport;
  /** The last write failed: the next good one is reported. */
  #writeFailing = false;
  readonly #drops: ThrottledReport;
  #wake?: () => void;
  #stopping = false;
  /** Set when the stop deadline passed: the loop exits at its next step. */
  #halted = false;
  #loop?: Promise<void>;
  /** Settles when the last sink call has finished (see {@link SinkRunner.#call}). */
  #settled: Promise<void> = Promise.resolve();
  /** Recent events handed to this sink, confirmed by it, and dropped (by `request_id`). */
  readonly #routedIds = new RecentIds(TRACKED_EVENTS);
  readonly #sentIds = new RecentIds(TRACKED_EVENTS);
  readonly #droppedIds = new RecentIds(TRACKED_EVENTS);

  private constructor(options: SinkRunnerOptions, wal: WriteAheadLog) {
    this.name = options.name;
    this.#sink = options.sink;
    this.#queue = options.queue;
    this.#hooks = options.hooks;
    this.#callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.#fsyncMs = options.fsyncMs ?? DEFAULT_FSYNC_MS;
    this.#maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.#wal = wal;
    this.#writeErrors = new ThrottledReport((count, since, detail) =>
      options.hooks.log(
        "error",
        `could not write ${count} events to the write-ahead log${since} (${detail}); ` +
          "they are kept in memory while there is room and are lost if the gateway crashes",
      )
    );
    this.#drops = new ThrottledReport((count, since, detail) => {
      const message = `dropped ${count} events${since}: ${detail}`;
      options.hooks.log("error", message);
      options.hooks.gatewayError(message, "spool_overflow");
    });
    if (wal.size > 0) this.#diskTail = { from: wal.cursor, to: wal.nextLsn };
  }

  /** Opens the sink's log (replaying what an earlier run left) and starts delivering. */
  static async start(options: SinkRunnerOptions): Promise<SinkRunner> {
    const wal = await WriteAheadLog.open(options.spoolDir, options.queue.spool_max_bytes);
    const runner = new SinkRunner(options, wal);
    if (wal.size > 0) options.hooks.log("info", `replaying ${wal.size} logged events`);
    runner.#loop = runner.#run();
    return runner;
  }

  /**
   * Where the event with this `request_id` stands with this sink, if it is
   * one of the last {@link TRACKED_EVENTS} handed to it (or replayed from its
   * log); undefined otherwise.
   */
  deliveryOf(requestId: string): EventDelivery | undefined {
    if (this.#droppedIds.has(requestId)) return "dropped";
    if (this.#sentIds.has(requestId)) return "sent";
    const inMemory = this.#incoming.some((i) => i.event.request_id === requestId) ||
      this.#memory.some((e) => e.event.request_id === requestId);
    if (!inMemory && !this.#routedIds.has(requestId)) return undefined;
    if (this.#failures > 0) return "retrying";
    return inMemory ? "queued" : "spooled";
  }

  /** Events in memory (waiting for their fsync or for delivery). */
  get queueDepth(): number {
    return this.#memory.length + this.#incoming.length;
  }

  /** Events in the log on disk, not yet confirmed by the sink. */
  get spoolSize(): number {
    return this.#wal.size;
  }

  /** Bytes of the log on disk (the spool). */
  get spoolBytes(): number {
    return this.#wal.bytes;
  }

  /** The last delivery failure's message ("" once a delivery succeeds again). */
  get lastError(): string {
    return this.#lastError;
  }

  /** Whether the circuit is open (the sink is failing). */
  get circuitOpen(): boolean {
    return this.#failures >= FAILURES_TO_OPEN;
  }

  /**
   * Queues an event for the next group commit (`json`: its text, when the
   * caller has it, exactly `JSON.stringify(event)`). Never blocks, never
   * throws: an event that cannot be serialised is replaced by a minimal one.
   */
  push(event: LogEvent, json?: string): void {
    if (this.#stopping) return this.drop(event, "it arrived after the sink began to stop");
    let line: string;
    try {
      line = (json ?? JSON.stringify(event)) + "\n";
      // Serialisable, yet deeper than a sink's own JSON handling can be trusted with.
      if (exceedsJsonDepth(line, MAX_EVENT_DEPTH)) {
        throw new Error(`it nests deeper than ${MAX_EVENT_DEPTH} levels`);
      }
    } catch (error) {
      const reason = `it could not be serialised: ${messageOf(error)}`;
      this.counters.replaced++;
      this.#hooks.log(
        "error",
        `event ${String(event.request_id)} replaced by a minimal event: ${reason}`,
      );
      event = minimalEvent(event, reason);
      line = JSON.stringify(event) + "\n";
    }
    if (line.length > this.#maxEventBytes) {
      event = truncateEvent(event, line, this.#maxEventBytes);
      line = JSON.stringify(event) + "\n";
      this.counters.truncated++;
    }
    if (this.#incoming.length > 0 && this.#incomingBytes + line.length > MAX_INCOMING_BYTES) {
      // The disk is slower than the traffic: memory stays bounded, and the loss is counted.
      this.counters.dropped++;
      this.#droppedIds.add(event.request_id);
      this.#drops.add(1, "the write-ahead log is not keeping up (64 MiB of events wait for it)");
      return;
    }
    this.#incoming.push({ event, line });
    this.#incomingBytes += line.length;
    this.#routedIds.add(event.request_id);
    this.#scheduleCommit();
  }

  /**
   * Counts an event that will not be logged and reports it like every other
   * drop (a gateway_error only as a line, so that stopping sinks never
   * report each other's drops forever).
   */
  drop(event: LogEvent, why: string): void {
    this.counters.dropped++;
    this.#droppedIds.add(event.request_id);
    if (event.call_type === "gateway_error") {
      this.#hooks.log("error", `dropped gateway_error event ${event.request_id}: ${why}`);
    } else {
      this.#drops.add(1, why);
      if (this.#halted) this.#drops.flush();
    }
  }

  /** Stops the loop: delivers what it can before `deadline` (epoch ms); the log keeps the rest. */
  async stop(deadline: number): Promise<void> {
    this.#stopping = true;
    await this.#commitNow();
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#loop,
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    this.#halted = true;
    this.#wake?.();
    const unlogged = this.#memory.filter((e) => e.lsn === undefined).length;
    if (unlogged > 0) {
      this.counters.dropped += unlogged;
      this.#drops.add(unlogged, "they could not be written to disk and the gateway stopped");
    }
    this.#writeErrors.flush();
    this.#drops.flush();
    await this.#wal.close();
    try {
      const left = () => Math.max(0, deadline - Date.now());
      await this.#call("flush", (signal) => this.#sink.flush?.({ signal }), left());
      await this.#call("close", (signal) => this.#sink.close?.({ signal }), left());
    } catch (error) {
      this.#hooks.log("warn", `failed to close: ${messageOf(error)}`);
    }
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#committing) return;
    const delay = Math.max(0, this.#lastCommitAt + this.#fsyncMs - performance.now());
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.#commitNow();
    }, delay);
  }

  /**
   * Resolves once every event pushed before the call went through a commit
   * (written to the write-ahead log, or kept in memory when the disk refused
   * it): commits now instead of waiting for the group-commit interval.
   */
  durable(): Promise<void> {
    return this.#commitNow();
  }

  /** Runs one group commit now (or waits for the running one and runs another if needed). */
  async #commitNow(): Promise<void> {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    while (this.#committing) await this.#committing;
    if (this.#incoming.length === 0) return;
    this.#committing = this.#commit().finally(() => {
      this.#committing = undefined;
      this.#wake?.(); // the loop sees the new events (and, at shutdown, that none are arriving)
    });
    await this.#committing;
    if (this.#incoming.length > 0 && !this.#stopping) this.#scheduleCommit();
  }

  async #commit(): Promise<void> {
    const batch = this.#incoming;
    this.#incoming = [];
    this.#incomingBytes = 0;
    this.#lastCommitAt = performance.now();
    let result: AppendResult;
    try {
      result = await this.#wal.append(batch.map((b) => b.line));
    } catch (error) {
      result = { firstLsn: 0, written: 0, overLimit: 0, error: error as Error };
    }
    const now = performance.now();
    this.counters.spooled += result.written;
    batch.forEach((item, i) => {
      if (i < result.written) {
        this.#placeLogged({ event: item.event, lsn: result.firstLsn + i, at: now });
      } else this.#placeUnlogged({ event: item.event, at: now });
    });
    const unwritten = batch.length - result.written;
    if (result.error) {
      this.#writeFailing = true;
      this.#writeErrors.add(unwritten - result.overLimit, describeIoError(result.error));
    } else if (this.#writeFailing && result.written > 0) {
      this.#writeFailing = false;
      this.#writeErrors.flush();
      this.#hooks.log("info", "the write-ahead log takes writes again");
    }
    if (result.overLimit > 0) {
      this.#writeErrors.add(
        result.overLimit,
        `the log is at spool_max_bytes (${this.#queue.spool_max_bytes})`,
      );
    }
  }

  /** A logged event goes to memory unless memory is full or older events wait on disk. */
  #placeLogged(entry: Entry & { lsn: number }): void {
    if (this.#diskTail || this.#memory.length >= this.#queue.max_queue) {
      this.#diskTail ??= { from: entry.lsn, to: entry.lsn };
      this.#diskTail.to = entry.lsn + 1;
      return;
    }
    this.#memory.push(entry);
  }

  /** An event the log could not take stays in memory while there is room (order may differ). */
  #placeUnlogged(entry: Entry): void {
    if (this.#memory.length < this.#queue.max_queue) {
      this.#memory.push(entry);
      return;
    }
    this.counters.dropped++;
    this.#droppedIds.add(entry.event.request_id);
    this.#drops.add(
      1,
      "the write-ahead log could not take them and the in-memory queue (max_queue) is full",
    );
  }

  async #run(): Promise<void> {
    for (;;) {
      if (!(await this.#waitForWork())) return;
      await this.#refill();
      const batch = this.#memory.slice(0, this.#queue.batch_size);
      if (batch.length === 0) continue; // the log had only unreadable lines: they were counted
      const outcome = await this.#send(batch.map((e) => e.event));
      if (this.#halted) return; // stop() has taken over
      if (outcome === "retry") {
        if (this.#stopping) return; // failing at shutdown: the log keeps the rest
        continue;
      }
      // Delivered, or dropped as malformed: release now, never earlier.
      const settled = outcome === "ok" ? this.#sentIds : this.#droppedIds;
      for (const entry of batch) settled.add(entry.event.request_id);
      this.#memory.splice(0, batch.length);
      const last = batch.findLast((e) => e.lsn !== undefined)?.lsn;
      if (last !== undefined) await this.#wal.confirm(last + 1);
    }
  }

  /** With memory empty, reads the next batch from the log's disk tail. */
  async #refill(): Promise<void> {
    const tail = this.#diskTail;
    if (this.#memory.length > 0 || !tail) return;
    const records = await this.#wal.read(tail.from, this.#queue.batch_size);
    const now = performance.now();
    let unreadable = 0;
    for (const r of records) {
      if (r.event) this.#memory.push({ event: r.event, lsn: r.lsn, at: now });
      else unreadable++;
    }
    tail.from = records.length > 0 ? records.at(-1)!.lsn + 1 : tail.to;
    if (tail.from >= tail.to) this.#diskTail = undefined;
    if (unreadable > 0) {
      this.counters.dropped += unreadable;
      this.#drops.add(unreadable, "their lines in the write-ahead log were not valid JSON");
      if (this.#memory.length === 0) await this.#wal.confirm(tail.from);
    }
  }

  #pendingCount(): number {
    return this.#memory.length + (this.#diskTail ? this.#diskTail.to - this.#diskTail.from : 0);
  }

  /**
   * Waits until a batch is due: full, old enough, on disk, a probe time, or
   * stop. Resolves false when the loop should end. Always waits on a timer or
   * a wake-up when nothing can be sent, so it never spins.
   */
  async #waitForWork(): Promise<boolean> {
    for (;;) {
      if (this.#halted) return false;
      const pending = this.#pendingCount();
      // At shutdown, events still on their way into the log are waited for (the commit wakes us).
      const arriving = this.#incoming.length > 0 || this.#committing !== undefined;
      if (this.#stopping && ((pending === 0 && !arriving) || this.circuitOpen)) return false;
      let wait: number;
      if (pending === 0 || (this.#stopping && arriving)) wait = Infinity; // one batch at shutdown
      else if (this.circuitOpen) wait = this.#openUntil - Date.now();
      else if (this.#stopping || this.#diskTail || this.#memory.length >= this.#queue.batch_size) {
        wait = 0;
      } else wait = this.#memory[0].at + this.#queue.flush_interval_ms - performance.now();
      if (wait <= 0) return true;
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

  /** One delivery attempt; waits out the backoff after a failure (the circuit waits in the loop). */
  async #send(events: LogEvent[]): Promise<"ok" | "dropped" | "retry"> {
    try {
      const result = await this.#call("log", (signal) => this.#sink.log(events, { signal }));
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
      return await this.#failed(events, error);
    }
  }

  async #failed(events: LogEvent[], error: unknown): Promise<"dropped" | "retry"> {
    const failure = error as { permanent?: unknown; retryAfterMs?: unknown };
    const message = messageOf(error);
    if (failure?.permanent === true) {
      // The sink answered: it is up, and only these events are at fault.
      this.#failures = 0;
      this.#openFor = 1000;
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
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "call_timeout" || code === "plugin_crashed") {
      this.#hooks.gatewayError(`delivery failed (will retry; events kept): ${message}`, code);
    }
    const retryAfter = typeof failure?.retryAfterMs === "number" ? failure.retryAfterMs : 0;
    if (this.circuitOpen) {
      if (this.#failures === FAILURES_TO_OPEN) {
        this.#hooks.log(
          "warn",
          `circuit open after ${FAILURES_TO_OPEN} failures; events stay in the log until it recovers`,
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

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      // New events do not cut a backoff short; stopping does.
      this.#wake = () => {
        if (this.#stopping) done();
      };
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /**
   * Runs a sink call under its deadline (the call's signal aborts when it
   * passes). The next call waits until the previous one has settled, so a
   * retry never overlaps a timed-out attempt.
   */
  async #call<T>(
    what: string,
    call: (signal: AbortSignal) => T | PromiseLike<T>,
    ms = this.#callTimeoutMs,
  ): Promise<T> {
    const limit = Math.min(ms, this.#callTimeoutMs);
    if (!(await settlesWithin(this.#settled, limit))) {
      throw new DeadlineError("the previous sink call", limit);
    }
    const run = deadlined(`${what}()`, limit, call);
    this.#settled = run.settled;
    return await run.result;
  }
}

function describeIoError(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOSPC" || /No space left/i.test(error.message)) return "the disk is full";
  return error.message;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
