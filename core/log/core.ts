/**
 * The log side of a gateway, whichever thread hosts it: loads the sink
 * plugins, starts the pipeline (redaction, routing, runners, write-ahead
 * logs), and turns finished calls into events. The request thread talks to
 * it only through a {@link LogHost} (`host.ts`), by hand-off records.
 * @module
 */
import type { GatewayConfig } from "../config/types.ts";
import { sinkInstanceName } from "../config/semantics.ts";
import { loadSinks } from "../loader/mod.ts";
import { DEFAULT_CONTROLS } from "../pipeline/controls.ts";
import { LogPipeline, type PipelineSink } from "../pipeline/pipeline.ts";
import { maskEventJson } from "../redaction/mask.ts";
import { buildLogEvent } from "./build.ts";
import type { FinishedCall } from "./call.ts";
import { Metrics } from "./metrics.ts";
import {
  ingestTelemetry,
  RECENT_PARENTS,
  type TelemetryAnswer,
  type TelemetryExport,
} from "../otlp/ingest.ts";
import { IngestCounters, type RefusedReason } from "../otlp/metrics.ts";
import { configuredPrice } from "../otlp/genai.ts";
import { RecentIds } from "../sink_http.ts";
import { builtInPrice, type ModelPrice } from "../cost/cost.ts";
import { resolveTransport } from "../transport/options.ts";
import { StreamPublisher } from "../transport/publisher.ts";
import { maskSecrets } from "../loader/secrets.ts";
import type { CallDelivery, SinkSnapshot } from "../pipeline/pipeline.ts";
import type { SinkStats } from "../plugin.ts";

/** A sink's snapshot as plugins see it (`ctx.pipelineStats`): numbers only, no error text. */
function sinkStats(s: SinkSnapshot): SinkStats {
  const { name, counters, queueDepth, spoolSize, circuitOpen } = s;
  return { name, counters: { ...counters }, queueDepth, spoolSize, circuitOpen };
}

/**
 * A call whose body or answer is at least this large is built and redacted
 * after the calls queued beside it, one per turn of the event loop, so a
 * huge call never holds the small ones up.
 */
const HEAVY_CALL_BYTES = 1024 * 1024;

function isHeavy(call: FinishedCall): boolean {
  return (call.bodyBytes?.byteLength ?? 0) >= HEAVY_CALL_BYTES ||
    (call.resultText?.length ?? 0) >= HEAVY_CALL_BYTES;
}

/** What the log side needs to start: plain data, so it can cross to a Worker. */
export interface LogInit {
  /** The validated config. */
  config: GatewayConfig;
  /** The directory relative plugin paths resolve against (the config file's). */
  baseDir: string;
  /** The config's secret values: masked in every event and log line. */
  secrets: string[];
}

/** The running log side. */
export class LogCore {
  readonly #pipeline: LogPipeline;
  readonly #lifetime: AbortController;
  readonly #metrics: Metrics;
  /** With a stream transport (`log.transport.kind` nats or redis): where events are published. */
  #publisher?: StreamPublisher;
  #secrets: string[] = [];
  #heavy: FinishedCall[] = [];
  #heavyTimer: ReturnType<typeof setTimeout> | undefined;
  /** OTLP ingest's `/metrics` counters. */
  readonly #ingest = new IngestCounters();
  /** `trace:span` of the client spans whose calls the gateway logged (recent ones). */
  readonly #loggedParents = new RecentIds(RECENT_PARENTS);
  #priceOf: (model: string) => ModelPrice | undefined = builtInPrice;

  private constructor(pipeline: LogPipeline, lifetime: AbortController, metrics: Metrics) {
    this.#pipeline = pipeline;
    this.#lifetime = lifetime;
    this.#metrics = metrics;
  }

  /**
   * Loads every sink plugin and starts its runner; optional sinks that fail
   * become `gateway_error` events. Throws the first required sink's failure.
   */
  static async start(init: LogInit): Promise<LogCore> {
    const { config, baseDir } = init;
    const dataDir = config.server.data_dir;
    const lifetime = new AbortController(); // aborts plugins' ctx.signal at close
    // `environment:` (LiteLLM's environment_variables) is what plugins see first, without
    // touching the process environment.
    const environment = config.environment;
    const env = (name: string) =>
      Object.hasOwn(environment, name) ? environment[name] : Deno.env.get(name);
    // A stream transport: the runners forward to the stream; delivery workers run the plugins.
    const stream = resolveTransport(config.log.transport, env);
    const publisher = stream &&
      StreamPublisher.start({ transport: stream, sinks: config.sinks, secrets: init.secrets });
    const entries = publisher?.entries() ?? config.sinks;
    let statsOf = (): SinkStats[] => [];
    const { loaded, skipped } = publisher
      ? { loaded: publisher.loaded(), skipped: [] }
      : await loadSinks(config.sinks, {
        dataDir,
        baseDir,
        signal: lifetime.signal,
        secrets: init.secrets, // a failing entry's message is masked with all of them
        env,
        // ctx.pipelineStats of in-process plugins: the pipeline's numbers, once it runs
        pipelineStats: () => statsOf(),
      });
    const sinks: PipelineSink[] = loaded.map((l) => ({
      name: l.name,
      plugin: l.plugin.name,
      entry: entries.find((e) => sinkInstanceName(e.use, e.name) === l.name)!,
      sink: l.sink,
      defaultOn: l.defaultOn,
      telemetry: l.telemetry,
    }));
    let pipeline: LogPipeline;
    try {
      pipeline = await LogPipeline.start(sinks, {
        dataDir,
        fsyncMs: config.log.fsync_ms,
        maxEventBytes: config.log.max_event_bytes,
        redaction: {
          global: config.redaction,
          secrets: [...init.secrets, ...loaded.flatMap((l) => l.secrets)],
          mask: maskEventJson,
        },
      });
    } catch (error) {
      await Promise.allSettled(loaded.map((l) => l.sink.close?.()));
      await publisher?.close();
      lifetime.abort();
      throw error;
    }
    for (const s of skipped) pipeline.gatewayError(s.name, s.error.message, s.error.code);
    statsOf = () => pipeline.snapshot().map(sinkStats);
    const core = new LogCore(pipeline, lifetime, new Metrics(config.models.map((m) => m.name)));
    core.#publisher = publisher;
    core.#secrets = [...init.secrets, ...loaded.flatMap((l) => l.secrets)];
    core.#priceOf = configuredPrice(config.models);
    return core;
  }

  /** Names of the sink instances. */
  get sinkNames(): string[] {
    return this.#pipeline.sinkNames;
  }

  /**
   * Counts each call in the metrics, builds its event and hands it to its
   * sinks; heavy calls (a body or answer of 1 MiB or more) come after the
   * small ones, one per turn. `shed`: calls the sender could not hand over
   * since its last batch (this side was too far behind), for `/metrics`.
   * Never throws.
   */
  accept(calls: readonly FinishedCall[], shed = 0): void {
    this.#metrics.recordShed(shed);
    for (const call of calls) {
      this.#metrics.recordCall(call);
      const { traceId, parentSpanId } = call.trace;
      if (parentSpanId) this.#loggedParents.add(`${traceId}:${parentSpanId}`);
      if (isHeavy(call)) this.#heavy.push(call);
      else this.#log(call);
    }
    this.#scheduleHeavy();
  }

  #scheduleHeavy(): void {
    if (this.#heavyTimer !== undefined || this.#heavy.length === 0) return;
    this.#heavyTimer = setTimeout(() => {
      this.#heavyTimer = undefined;
      this.#log(this.#heavy.shift()!);
      this.#scheduleHeavy();
    }, 0);
  }

  #log(call: FinishedCall): void {
    let event;
    try {
      event = buildLogEvent(call);
    } catch (error) {
      console.error(`sluice: could not build the log event of call ${call.callId}: ${error}`);
      return;
    }
    this.#pipeline.emit(event, call.controls ?? DEFAULT_CONTROLS);
  }

  /**
   * OTLP ingest: decodes an export, prices its GenAI spans and routes it
   * (spans and records to OTLP-capable sinks, GenAI spans as events to the
   * others, except those the gateway itself logged); resolves once what it
   * accepted is in the sinks' write-ahead logs. Never rejects.
   */
  async ingest(input: TelemetryExport): Promise<TelemetryAnswer> {
    const pipeline = this.#pipeline;
    const answer = ingestTelemetry(input, {
      telemetry: (batch, traceId, controls) => pipeline.emitTelemetry(batch, traceId, controls),
      event: (event, controls) => pipeline.emit(event, controls),
      gatewayLogged: (traceId, spanId) => this.#loggedParents.has(`${traceId}:${spanId}`),
      priceOf: this.#priceOf,
    });
    this.#ingest.record(input.signal, answer);
    // Answered once on disk: an exporter that got 200 never has to send it again.
    if (answer.accepted > 0) await pipeline.durable();
    return answer;
  }

  /** Counts an OTLP export the request thread refused before it reached this side. */
  ingestRefused(signal: "traces" | "logs", reason: RefusedReason): void {
    this.#ingest.refuse(signal, reason);
  }

  /** The `/metrics` exposition text: calls, and each sink's numbers now. */
  metricsText(): string {
    return this.#metrics.render(this.#pipeline.snapshot()) +
      (this.#publisher?.metricsText() ?? "") + this.#ingest.render(this.#pipeline.telemetryCounts);
  }

  /** Where one call's event stands with each sink (last errors with secrets masked). */
  delivery(requestId: string): CallDelivery[] {
    return this.#pipeline.deliveryOf(requestId).map((d) =>
      d.lastError ? { ...d, lastError: maskSecrets(d.lastError, this.#secrets) } : d
    );
  }

  /** Each sink's live state (queue, spool, circuit, counters, last error with secrets masked). */
  sinkStates(): SinkSnapshot[] {
    return this.#pipeline.snapshot().map((s) =>
      s.lastError ? { ...s, lastError: maskSecrets(s.lastError, this.#secrets) } : s
    );
  }

  /** Delivers what it can within `deadlineMs`, keeps the rest in the logs, closes the sinks. */
  async close(deadlineMs: number): Promise<void> {
    clearTimeout(this.#heavyTimer);
    this.#heavyTimer = undefined;
    for (const call of this.#heavy.splice(0)) this.#log(call);
    try {
      await this.#pipeline.close(deadlineMs);
      await this.#publisher?.close();
    } finally {
      this.#lifetime.abort();
    }
  }
}
