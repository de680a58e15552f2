/**
 * The delivery worker (`deno run -A mod.ts deliver --config gateway.yaml`):
 * loads the same sink plugins a local gateway would, and for each sink reads
 * its consumer group on the log stream, calls the plugin under its
 * deadline, and acks only after the plugin resolved. A permanent failure
 * (`permanent: true`) goes to the dead-letter stream; any other failure is
 * retried with backoff (the plugin's `retryAfterMs` respected, the sink's
 * loop paused meanwhile) up to `log.transport.max_attempts` deliveries,
 * then dead-lettered. Any number of workers share each sink's group; a
 * worker that dies leaves its unacked messages to the others after
 * `ack_wait_ms`.
 * @module
 */
import type { GatewayConfig } from "../config/types.ts";
import { sinkInstanceName } from "../config/semantics.ts";
import { deadlined, pause } from "../deadline.ts";
import type { LogEvent } from "../event/log_event.ts";
import { loadSinks } from "../loader/mod.ts";
import { maskSecrets } from "../loader/secrets.ts";
import { DEFAULT_SINK_EVENT_KINDS, type Sink } from "../plugin.ts";
import { orderSecrets, scrubSecrets } from "../redaction/structural.ts";
import { TransportCounters } from "../transport/metrics.ts";
import { openTransport } from "../transport/open.ts";
import { describeLimits, displayUrl, type ResolvedTransport } from "../transport/options.ts";
import type { Delivery, LogTransport } from "../transport/types.ts";
import { isEnvelope } from "../otlp/telemetry.ts";

/** Ids remembered per sink to tell a redelivery of an acked message (a duplicate). */
const REMEMBERED_IDS = 200_000;
/** Longest pause of a sink's loop after failures. */
const MAX_BACKOFF_MS = 30_000;
/**
 * A sink that has accepted nothing for this long counts as down: its events
 * wait in the stream instead of reaching the dead-letter stream.
 */
const SINK_DOWN_MS = 60_000;
/** How often the stream's size and lag are read for `/metrics`. */
const STATS_EVERY_MS = 2_000;

/** Operator-facing log lines. */
export type WorkerLog = (level: "info" | "warn" | "error", message: string) => void;

/** Options of {@link DeliveryWorker.start}. */
export interface DeliveryWorkerOptions {
  /** The validated config (the gateways' own). */
  config: GatewayConfig;
  /** The resolved `log.transport` (a stream engine). */
  transport: ResolvedTransport;
  /** Relative plugin paths resolve against it (the config file's directory). */
  baseDir: string;
  /** The config's secret values: masked in every line and dead-letter reason. */
  secrets: readonly string[];
  /** This worker's consumer name (default: host and pid). */
  consumer?: string;
  /** Where lines go (default: stderr with a `sluice deliver: ` prefix). */
  log?: WorkerLog;
  /** Opens the transport (default {@link openTransport}). */
  open?: typeof openTransport;
  /** After this long without a sink answering, it counts as down (default 60 s; tests shorten it). */
  sinkDownMs?: number;
}

interface SinkLoop {
  name: string;
  sink: Sink;
  /** The sink takes OTLP telemetry: envelopes go to it, events made from GenAI spans do not. */
  telemetry: boolean;
  on: ReadonlySet<string>;
  batch: number;
  callTimeoutMs: number;
  /** Acked ids, oldest first (a Set keeps insertion order). */
  done: Set<string>;
  failures: number;
  /** When the sink last answered (delivered, or rejected as permanent), epoch ms. */
  answeredAt: number;
  /** The "down" line was written (once per outage). */
  reportedDown?: boolean;
  secrets: string[];
}

/** A running delivery worker. */
export class DeliveryWorker {
  /** Consume counters and the last stream stats, for `/metrics`. */
  readonly counters: TransportCounters = new TransportCounters();
  readonly #options: DeliveryWorkerOptions;
  readonly #lifetime = new AbortController();
  readonly #log: WorkerLog;
  readonly #loops: SinkLoop[];
  readonly #secrets: string[];
  readonly #consumer: string;
  #transport?: LogTransport;
  #running?: Promise<void>;
  #statsTimer?: ReturnType<typeof setInterval>;

  private constructor(options: DeliveryWorkerOptions, loops: SinkLoop[], secrets: string[]) {
    this.#options = options;
    this.#loops = loops;
    this.#secrets = orderSecrets(secrets);
    this.#consumer = options.consumer ?? `${Deno.hostname()}-${Deno.pid}`;
    const log = options.log ??
      ((level: string, message: string) =>
        (level === "warn" ? console.warn : console.error)(`sluice deliver: ${message}`));
    this.#log = (level, message) => log(level, maskSecrets(message, this.#secrets));
  }

  /**
   * Loads the sink plugins (a required sink that fails throws; an optional
   * one is left out with a line), then connects and consumes in the
   * background, retrying the connection until the engine answers.
   *
   * @param options The config, the transport and where lines go.
   * @returns The running worker.
   */
  static async start(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
    const { config } = options;
    const lifetime = new AbortController();
    const environment = config.environment;
    const { loaded, skipped } = await loadSinks(config.sinks, {
      dataDir: config.server.data_dir,
      baseDir: options.baseDir,
      signal: lifetime.signal,
      secrets: options.secrets,
      env: (name) => Object.hasOwn(environment, name) ? environment[name] : Deno.env.get(name),
    });
    const secrets = [
      ...options.secrets,
      ...options.transport.secrets,
      ...loaded.flatMap((l) => l.secrets),
    ];
    const ordered = orderSecrets(secrets);
    const loops = loaded.map((l): SinkLoop => {
      const entry = config.sinks.find((e) => sinkInstanceName(e.use, e.name) === l.name)!;
      return {
        name: l.name,
        sink: l.sink,
        telemetry: l.telemetry === true,
        on: new Set(entry.on ?? l.defaultOn ?? DEFAULT_SINK_EVENT_KINDS),
        batch: entry.queue.batch_size,
        callTimeoutMs: entry.queue.call_timeout_ms ?? 30_000,
        done: new Set(),
        failures: 0,
        answeredAt: Date.now(),
        secrets: ordered,
      };
    });
    const worker = new DeliveryWorker(options, loops, secrets);
    // The plugins' ctx.signal is the worker's lifetime.
    worker.#lifetime.signal.addEventListener("abort", () => lifetime.abort(), { once: true });
    for (const s of skipped) {
      worker.#log("error", `sink "${s.name}" is left out: ${s.error.message}`);
    }
    worker.#running = worker.#run();
    return worker;
  }

  /** Names of the sinks this worker delivers to. */
  get sinkNames(): string[] {
    return this.#loops.map((l) => l.name);
  }

  /** Whether the engine is connected. */
  get connected(): boolean {
    return this.#transport !== undefined;
  }

  async #run(): Promise<void> {
    const { kind, options } = this.#options.transport;
    const where = `${kind} ${displayUrl(options.url)} stream "${options.stream}"`;
    const open = this.#options.open ?? openTransport;
    const signal = this.#lifetime.signal;
    let wait = 250;
    let reported = false;
    while (!signal.aborted) {
      try {
        const transport = await open(kind, options);
        try {
          await transport.ensure(this.sinkNames);
        } catch (error) {
          await transport.close().catch(() => {});
          throw error;
        }
        this.#transport = transport;
        break;
      } catch (error) {
        if (!reported) {
          this.#log("warn", `cannot reach ${where} yet (${messageOf(error)}); retrying`);
          reported = true;
        }
        await pause(wait, signal);
        wait = Math.min(5_000, wait * 2);
      }
    }
    const transport = this.#transport;
    if (!transport) return;
    this.#log(
      "info",
      `delivering ${this.sinkNames.join(", ") || "no sinks"} from ${where}; ${
        describeLimits(options)
      }`,
    );
    this.#statsTimer = setInterval(() => this.refreshStats(), STATS_EVERY_MS);
    Deno.unrefTimer(this.#statsTimer);
    this.refreshStats();
    await Promise.all(this.#loops.map((loop) => this.#consume(transport, loop)));
  }

  /** Reads the stream's size and lag now (kept for `/metrics`); never throws. */
  async refreshStats(): Promise<void> {
    const transport = this.#transport;
    if (!transport) return;
    try {
      this.counters.stats = await transport.stats(this.sinkNames);
      this.counters.statsAt = Date.now();
    } catch {
      // The engine is away: /metrics shows the last numbers and their age.
    }
  }

  async #consume(transport: LogTransport, loop: SinkLoop): Promise<void> {
    const signal = this.#lifetime.signal;
    while (!signal.aborted) {
      try {
        for await (
          const batch of transport.consume({
            sink: loop.name,
            consumer: this.#consumer,
            batch: loop.batch,
            ackWaitMs: this.#options.config.log.transport.ack_wait_ms,
            signal,
          })
        ) {
          await this.#handle(loop, batch);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#log("warn", `sink "${loop.name}": reading the stream failed: ${messageOf(error)}`);
        await pause(1_000, signal);
      }
    }
  }

  #count(loop: SinkLoop, outcome: string, n: number): void {
    if (n > 0) this.counters.add(this.counters.consumed, `${loop.name}\u0000${outcome}`, n);
  }

  /** Delivers one batch: duplicates and kinds the sink does not take are acked unsent. */
  async #handle(loop: SinkLoop, batch: Delivery[]): Promise<void> {
    this.#count(loop, "consumed", batch.length);
    this.#count(loop, "redelivered", batch.filter((d) => d.attempt > 1).length);
    const send: Delivery[] = [];
    const events: LogEvent[] = [];
    const settle: Promise<unknown>[] = [];
    const decoder = new TextDecoder();
    for (const d of batch) {
      if (loop.done.has(d.id)) {
        this.#count(loop, "duplicate", 1);
        settle.push(d.ack());
        continue;
      }
      let event: LogEvent;
      try {
        let text = decoder.decode(d.body);
        if (loop.secrets.length > 0) text = scrubSecrets(text, loop.secrets);
        event = JSON.parse(text);
      } catch (error) {
        this.#count(loop, "dead_lettered", 1);
        settle.push(d.deadLetter(`not a JSON event: ${messageOf(error)}`));
        continue;
      }
      const kind = event.call_type === "gateway_error" ? "gateway_error" : event.status;
      // Gateways publish ingested telemetry both ways (they do not load the plugins): an OTLP
      // sink takes the envelope, any other the events made from GenAI spans.
      const otherWay = isEnvelope(event)
        ? !loop.telemetry
        : loop.telemetry && event.source === "otlp";
      if (!loop.on.has(kind) || otherWay) {
        this.#count(loop, "filtered", 1);
        settle.push(d.ack());
        continue;
      }
      send.push(d);
      events.push(event);
    }
    if (events.length > 0) await this.#deliver(loop, send, events, settle);
    const failed = (await Promise.allSettled(settle)).filter((r) => r.status === "rejected");
    if (failed.length > 0) {
      this.#log(
        "warn",
        `sink "${loop.name}": ${failed.length} acks or dead-letters failed (the messages come again): ${
          messageOf((failed[0] as PromiseRejectedResult).reason)
        }`,
      );
    }
  }

  async #deliver(
    loop: SinkLoop,
    send: Delivery[],
    events: LogEvent[],
    settle: Promise<unknown>[],
  ): Promise<void> {
    const signal = this.#lifetime.signal;
    try {
      const result = await deadlined(
        "log()",
        loop.callTimeoutMs,
        // Not tied to the worker's lifetime: a close lets the batch in flight finish.
        (callSignal) => loop.sink.log(events, { signal: callSignal }),
      ).result;
      const reported = Number(result?.skipped);
      const skipped = Number.isFinite(reported)
        ? Math.min(events.length, Math.max(0, Math.floor(reported)))
        : 0;
      this.#count(loop, "delivered", events.length - skipped);
      this.#count(loop, "skipped", skipped);
      if (loop.failures > 0) this.#log("info", `sink "${loop.name}": delivering again`);
      loop.failures = 0;
      loop.answeredAt = Date.now();
      loop.reportedDown = false;
      for (const d of send) {
        settle.push(d.ack());
        loop.done.add(d.id);
      }
      // Forget the oldest ids past the bound (a Set iterates in insertion order).
      if (loop.done.size > REMEMBERED_IDS) {
        let extra = loop.done.size - REMEMBERED_IDS;
        for (const id of loop.done) {
          if (extra-- <= 0) break;
          loop.done.delete(id);
        }
      }
      return;
    } catch (error) {
      const message = maskSecrets(messageOf(error), loop.secrets);
      const failure = error as { permanent?: unknown; retryAfterMs?: unknown };
      if (failure?.permanent === true) {
        loop.answeredAt = Date.now(); // it answered: up, and only these events are at fault
        this.#count(loop, "dead_lettered", send.length);
        this.#log(
          "error",
          `sink "${loop.name}": ${send.length} events rejected as malformed, dead-lettered: ${message}`,
        );
        for (const d of send) settle.push(d.deadLetter(`rejected by the sink: ${message}`));
        return;
      }
      if (signal.aborted) return; // shutting down: unacked, they come again
      loop.failures++;
      const retryAfter = typeof failure?.retryAfterMs === "number" ? failure.retryAfterMs : 0;
      const backoff = Math.max(
        retryAfter,
        Math.min(MAX_BACKOFF_MS, 250 * 2 ** (loop.failures - 1)) * (0.5 + Math.random() / 2),
      );
      const maxAttempts = this.#options.config.log.transport.max_attempts;
      // A sink that is down as a whole keeps its events in the stream: attempts count only
      // while it answers other batches (these events are what fails).
      const down = Date.now() - loop.answeredAt >= (this.#options.sinkDownMs ?? SINK_DOWN_MS);
      let gaveUp = 0;
      for (const d of send) {
        if (d.attempt >= maxAttempts && !down) {
          gaveUp++;
          settle.push(d.deadLetter(`gave up after ${d.attempt} attempts: ${message}`));
        } else settle.push(d.retry(backoff));
      }
      this.#count(loop, "retried", send.length - gaveUp);
      this.#count(loop, "dead_lettered", gaveUp);
      if (loop.failures === 1 || gaveUp > 0) {
        this.#log(
          "warn",
          `sink "${loop.name}": delivery failed (${send.length - gaveUp} to retry, ${gaveUp} ` +
            `dead-lettered after ${maxAttempts} attempts): ${message}`,
        );
      }
      if (down && !loop.reportedDown) {
        loop.reportedDown = true;
        this.#log(
          "warn",
          `sink "${loop.name}" has not answered for ${
            Math.round((Date.now() - loop.answeredAt) / 1000)
          } s: its events wait in the stream (not dead-lettered) until it does`,
        );
      }
      // The sink is failing: the loop waits too, with what it holds left to the engine.
      await pause(Math.min(backoff, this.#options.config.log.transport.ack_wait_ms / 2), signal);
    }
  }

  /** The `/metrics` exposition text: consume counters, stream size, lag per sink. */
  metricsText(): string {
    return this.counters.render(this.#options.transport.kind);
  }

  /**
   * Stops consuming (unacked messages go to other workers), waits for the
   * batches in flight up to `deadlineMs`, flushes and closes the sinks and
   * the connection.
   *
   * @param deadlineMs Longest time to wait for the batches in flight.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    clearInterval(this.#statsTimer);
    this.#lifetime.abort();
    const waited = new AbortController();
    await Promise.race([this.#running, pause(deadlineMs, waited.signal)]);
    waited.abort();
    const left = () => Math.max(0, end - Date.now());
    await Promise.allSettled(this.#loops.map(async (loop) => {
      await deadlined("flush()", left(), (signal) => loop.sink.flush?.({ signal })).result;
      await deadlined("close()", left(), (signal) => loop.sink.close?.({ signal })).result;
    }));
    // An engine that is away cannot take a drain: the close gives up after a while.
    const giveUp = new AbortController();
    await Promise.race([
      this.#transport?.close().catch(() => {}),
      pause(3_000, giveUp.signal),
    ]);
    giveUp.abort();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
