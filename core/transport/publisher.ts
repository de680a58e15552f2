/**
 * The gateway's side of a stream transport. Each sink keeps its runner
 * (write-ahead log, retries, circuit), but the runner's sink is a
 * forwarding sink: `log(events)` publishes each prepared, already redacted
 * event to the stream (de-duplication key `<request_id>.<sink>`) and
 * resolves only once the engine stored it. While the engine is unreachable
 * the publish throws a retryable error, so events wait in the local spool
 * and are forwarded when it returns: the no-loss guarantee of the local
 * path carries over across engine outages.
 *
 * The sink plugins themselves are not loaded here: they run in the
 * delivery workers (`deliver`), which also apply each plugin's default
 * `on:` list (the gateway publishes every kind the entry may take).
 * @module
 */
import type { SinkConfig } from "../config/types.ts";
import { sinkInstanceName } from "../config/semantics.ts";
import { entrySecrets, maskSecrets } from "../loader/secrets.ts";
import type { LoadedSink } from "../loader/types.ts";
import type { LogEvent } from "../event/log_event.ts";
import { type Sink, SINK_EVENT_KINDS } from "../plugin.ts";
import { TransportCounters } from "./metrics.ts";
import { openTransport } from "./open.ts";
import { describeLimits, displayUrl, type ResolvedTransport } from "./options.ts";
import type { LogTransport, PublishedEvent } from "./types.ts";

/** How often the stream's size and lag are read for `/metrics`. */
const STATS_EVERY_MS = 5_000;
/** Longest wait between two connection attempts while the engine is away. */
const MAX_RECONNECT_WAIT_MS = 5_000;
/**
 * The forwarding runner's batching: publishing is cheap, so events go out
 * within this long (the sink's own `flush_interval_ms` applies in the worker).
 */
const FORWARD_FLUSH_MS = 10;
/** Fewest events per forwarding batch (more when the sink's `batch_size` is larger). */
const FORWARD_BATCH = 500;
/** Longest wait for the connection to drain at close. */
const CLOSE_TIMEOUT_MS = 3_000;
/** Deadline of one forwarding batch (a publish the engine does not answer). */
const FORWARD_TIMEOUT_MS = 10_000;

/** Operator-facing log lines. */
export type PublisherLog = (level: "info" | "warn" | "error", message: string) => void;

/** Options of {@link StreamPublisher.start}. */
export interface StreamPublisherOptions {
  /** The resolved `log.transport`. */
  transport: ResolvedTransport;
  /** The config's `sinks:`. */
  sinks: readonly SinkConfig[];
  /** Secret values masked in every line it writes. */
  secrets?: Iterable<string>;
  /** Where its lines go (default: stderr with a `sluice: ` prefix). */
  log?: PublisherLog;
  /** Opens the transport (default {@link openTransport}; tests swap it). */
  open?: typeof openTransport;
}

/** Publishes prepared events to the stream; connects (and reconnects) in the background. */
export class StreamPublisher {
  /** Publish counters and the last stream stats, for `/metrics`. */
  readonly counters: TransportCounters = new TransportCounters();
  readonly #options: StreamPublisherOptions;
  readonly #names: string[];
  readonly #secrets: string[];
  readonly #log: PublisherLog;
  readonly #encoder = new TextEncoder();
  #transport?: LogTransport;
  #connecting?: Promise<void>;
  #statsTimer?: ReturnType<typeof setInterval>;
  #closed = false;
  #wake?: () => void;

  private constructor(options: StreamPublisherOptions) {
    this.#options = options;
    this.#names = options.sinks.map((e) => sinkInstanceName(e.use, e.name));
    this.#secrets = [...(options.secrets ?? []), ...options.transport.secrets];
    const log = options.log ??
      ((level: string, message: string) =>
        (level === "warn" ? console.warn : console.error)(`sluice: ${message}`));
    this.#log = (level, message) => log(level, maskSecrets(message, this.#secrets));
  }

  /**
   * Starts connecting (in the background, retrying until it succeeds or
   * the publisher closes) and returns at once: the gateway serves while
   * the engine is away.
   *
   * @param options The transport, the sinks and where lines go.
   * @returns The publisher.
   */
  static start(options: StreamPublisherOptions): StreamPublisher {
    const publisher = new StreamPublisher(options);
    publisher.#connecting = publisher.#connect();
    return publisher;
  }

  /** Where the stream is, as messages show it (`nats://host:4222 stream "sluice-events"`). */
  get where(): string {
    const { kind, options } = this.#options.transport;
    return `${kind} ${displayUrl(options.url)} stream "${options.stream}"`;
  }

  /** Whether the engine is connected (publishes can succeed). */
  get connected(): boolean {
    return this.#transport !== undefined;
  }

  async #connect(): Promise<void> {
    const open = this.#options.open ?? openTransport;
    const { kind, options } = this.#options.transport;
    let wait = 250;
    let reported = false;
    while (!this.#closed) {
      try {
        const transport = await open(kind, options);
        try {
          await transport.ensure(this.#names);
        } catch (error) {
          await transport.close().catch(() => {});
          throw error;
        }
        if (this.#closed) {
          await transport.close();
          return;
        }
        this.#transport = transport;
        this.#log("info", `log events go to ${this.where}; ${describeLimits(options)}`);
        this.#statsTimer = setInterval(() => this.refreshStats(), STATS_EVERY_MS);
        Deno.unrefTimer(this.#statsTimer);
        await this.refreshStats();
        return;
      } catch (error) {
        if (!reported) {
          this.#log(
            "warn",
            `the log stream (${this.where}) is not reachable: ${messageOf(error)}; ` +
              "events wait in the local spool and are forwarded once it is",
          );
          reported = true;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
        wait = Math.min(MAX_RECONNECT_WAIT_MS, wait * 2);
      }
    }
  }

  /** Reads the stream's size and lag now (kept for `/metrics`); never throws. */
  async refreshStats(): Promise<void> {
    const transport = this.#transport;
    if (!transport) return;
    try {
      this.counters.stats = await transport.stats(this.#names);
      this.counters.statsAt = Date.now();
    } catch {
      // The engine is away: /metrics shows the last numbers and their age.
    }
  }

  /**
   * Publishes one batch; resolves once the engine stored every event.
   *
   * @param sink The sink instance the events are for.
   * @param events Prepared (redacted) events.
   * @throws A retryable error when the engine is unreachable or did not store them all.
   */
  async publish(sink: string, events: readonly LogEvent[]): Promise<void> {
    const transport = this.#transport;
    if (!transport) {
      this.counters.add(this.counters.publishFailed, sink, events.length);
      throw new Error(`the log stream (${this.where}) is not reachable yet`);
    }
    const batch: PublishedEvent[] = events.map((event) => ({
      sink,
      id: `${event.request_id}.${sink}`,
      body: this.#encoder.encode(JSON.stringify(event)),
    }));
    try {
      await transport.publish(batch);
    } catch (error) {
      this.counters.add(this.counters.publishFailed, sink, events.length);
      throw new Error(maskSecrets(messageOf(error), this.#secrets));
    }
    this.counters.add(this.counters.published, sink, events.length);
  }

  /**
   * The sinks the pipeline runs in place of the plugins: one forwarding
   * sink per entry, taking every event kind (the worker applies the
   * plugin's default `on:`), with the entry's own secrets.
   *
   * @returns What `loadSinks` would return, for the pipeline.
   */
  loaded(): LoadedSink[] {
    return this.#options.sinks.map((entry, i) => {
      const name = this.#names[i];
      const sink: Sink = { log: (events) => this.publish(name, events) };
      // Typed by assertion: fields the loader adds later (none of them used here) stay unset.
      return {
        name,
        plugin: { name: entry.use, version: "stream" },
        use: entry.use,
        defaultOn: [...SINK_EVENT_KINDS],
        sandboxed: false,
        sink,
        secrets: entrySecrets(entry),
      } as LoadedSink;
    });
  }

  /**
   * The entries the forwarding runners use: the same entries with a short
   * flush interval and a larger batch (publishing is cheap) and a publish
   * deadline; `on:` unset stays unset (every kind is taken).
   *
   * @returns One entry per `sinks:` entry, in order.
   */
  entries(): SinkConfig[] {
    return this.#options.sinks.map((entry) => ({
      ...entry,
      queue: {
        ...entry.queue,
        flush_interval_ms: Math.min(entry.queue.flush_interval_ms, FORWARD_FLUSH_MS),
        batch_size: Math.max(entry.queue.batch_size, FORWARD_BATCH),
        call_timeout_ms: FORWARD_TIMEOUT_MS,
      },
    }));
  }

  /** The `/metrics` text of the stream: publish counters, size, limits, lag. */
  metricsText(): string {
    return this.counters.render(this.#options.transport.kind);
  }

  /** Stops connecting, drains pending publishes and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#statsTimer);
    this.#wake?.();
    await this.#connecting;
    // An engine that is away cannot take a drain: the close gives up after a while.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#transport?.close().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
