/**
 * Call metrics with the official `@opentelemetry/sdk-metrics`, named and
 * attributed as the GenAI semantic conventions say, plus Sluice's own call
 * and cost counters (named so a Prometheus translation gives the names
 * `/metrics` uses: `sluice_requests_total`, `sluice_cost_usd_total`).
 * Recorded where the sink runs (the log path), exported by the SDK's
 * periodic reader on an interval; a failed export is reported and the next
 * interval carries cumulative sums again.
 * @module
 */
import type { Attributes, Counter, Meter } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { ExportResult } from "@opentelemetry/core";
import type { LogEvent, SinkStats } from "@sluice/core/plugin";
import type { GenAiAttributes } from "./genai.ts";
import type { TemporalityPreference } from "./config.ts";
import type { ItemExporter } from "./exporter.ts";
import type { SpanScope } from "./spans.ts";

/** The metric names this module records. */
export const METRIC_NAMES = {
  tokenUsage: "gen_ai.client.token.usage",
  operationDuration: "gen_ai.client.operation.duration",
  timeToFirstToken: "gen_ai.server.time_to_first_token",
  timePerOutputToken: "gen_ai.server.time_per_output_token",
  requests: "sluice.requests",
  cost: "sluice.cost.usd",
  sinkEvents: "sluice.sink.events",
  sinkQueueDepth: "sluice.sink.queue_depth",
  sinkSpoolEvents: "sluice.sink.spool_events",
  sinkCircuitOpen: "sluice.sink.circuit_open",
} as const;

/** The outcomes of `sluice.sink.events` (`/metrics`' `sluice_sink_events_total{outcome}`). */
export const SINK_OUTCOMES = [
  "sent",
  "skipped",
  "retried",
  "spooled",
  "dropped",
  "replaced",
  "truncated",
] as const;

/** The semantic conventions' advised bucket boundaries. */
const TOKEN_BUCKETS = [
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864,
];
const DURATION_BUCKETS = [
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92,
];
const TTFT_BUCKETS = [
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1.0,
  2.5,
  5.0,
  7.5,
  10.0,
];
const TPOT_BUCKETS = [
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.15,
  0.2,
  0.3,
  0.4,
  0.5,
  0.75,
  1.0,
  2.5,
];

/** The span attributes metrics carry (low cardinality). */
const METRIC_ATTRIBUTES = [
  "gen_ai.operation.name",
  "gen_ai.provider.name",
  "gen_ai.request.model",
  "gen_ai.response.model",
  "server.address",
  "server.port",
  "error.type",
];

/** A call's metric attributes, and the token histogram's two variants of them. */
interface AttributeSet {
  base: Attributes;
  input: Attributes;
  output: Attributes;
}

/**
 * The metric attributes of calls, made once per distinct combination and
 * reused (the SDK keeps, never changes, the attributes it is given): a
 * gateway's calls have few combinations of model, provider and outcome.
 */
class AttributeSets {
  static readonly MAX = 1024;
  readonly #sets = new Map<string, AttributeSet>();

  of(spanAttributes: GenAiAttributes): AttributeSet {
    let key = "";
    for (const name of METRIC_ATTRIBUTES) {
      const value = spanAttributes[name];
      key += `${typeof value}:${value ?? ""}\u0000`; // absent, "" and 0 stay apart
    }
    let set = this.#sets.get(key);
    if (set) return set;
    const base: Attributes = {};
    for (const name of METRIC_ATTRIBUTES) {
      if (spanAttributes[name] !== undefined) base[name] = spanAttributes[name];
    }
    set = {
      base,
      input: { ...base, "gen_ai.token.type": "input" },
      output: { ...base, "gen_ai.token.type": "output" },
    };
    if (this.#sets.size >= AttributeSets.MAX) this.#sets.clear();
    this.#sets.set(key, set);
    return set;
  }
}

/**
 * A batch's counter increments summed per counter and attribute set, then
 * added once each: a sum is the same whether its parts are added one by
 * one or together, and the SDK's cost is per `add`.
 */
class CounterSums {
  readonly #sums = new Map<Counter, Map<string, { value: number; attributes: Attributes }>>();

  add(counter: Counter, value: number, attributes: Attributes): void {
    let sums = this.#sums.get(counter);
    if (!sums) this.#sums.set(counter, sums = new Map());
    const key = JSON.stringify(attributes);
    const sum = sums.get(key);
    if (sum) sum.value += value;
    else sums.set(key, { value, attributes });
  }

  flush(): void {
    for (const [counter, sums] of this.#sums) {
      for (const { value, attributes } of sums.values()) counter.add(value, attributes);
    }
    this.#sums.clear();
  }
}

/** The temporality each instrument kind gets under a preference (the OTel exporter spec). */
export function temporalityFor(
  preference: TemporalityPreference,
  type: InstrumentType,
): AggregationTemporality {
  if (preference === "cumulative") return AggregationTemporality.CUMULATIVE;
  const deltaKinds: InstrumentType[] = preference === "delta"
    ? [InstrumentType.COUNTER, InstrumentType.OBSERVABLE_COUNTER, InstrumentType.HISTOGRAM]
    : [InstrumentType.COUNTER, InstrumentType.HISTOGRAM];
  return deltaKinds.includes(type)
    ? AggregationTemporality.DELTA
    : AggregationTemporality.CUMULATIVE;
}

/** Options of {@link createCallMetrics}. */
export interface CallMetricsOptions {
  /** Where collections go (one attempt each). */
  exporter: ItemExporter<ResourceMetrics>;
  /** Export interval in milliseconds. */
  intervalMs: number;
  /** Timeout of one export. */
  timeoutMs: number;
  /** Temporality preference. */
  temporality: TemporalityPreference;
  /** Told about each failed export (its message is already free of secrets). */
  onExportFailure(error: unknown): void;
  /**
   * Every sink's delivery numbers (`ctx.pipelineStats`), observed at each
   * collection as the `sluice.sink.*` metrics; absent: no such metrics.
   */
  pipelineStats?: () => readonly SinkStats[];
}

/** Records calls as metrics. */
export interface CallMetrics {
  /**
   * Records a batch of calls (each call's span attributes give its GenAI
   * attributes): every histogram gets one measurement per call, each
   * counter one sum per attribute set of the batch.
   */
  record(events: readonly LogEvent[], spanAttributes: readonly GenAiAttributes[]): void;
  /** Collects and exports now. */
  flush(): Promise<void>;
  /** Exports what is left and stops the interval. */
  shutdown(): Promise<void>;
}

// deno-doc-ignore private-type-ref -- `Resource` is the OpenTelemetry SDK's public type
/**
 * Creates the call metrics: a `MeterProvider` with a
 * `PeriodicExportingMetricReader` over the given exporter.
 *
 * @param resource The resource.
 * @param scope The meter's scope.
 * @param options Exporter, interval, timeout, temporality, failure callback.
 * @returns The recorder.
 */
export function createCallMetrics(
  resource: Resource,
  scope: SpanScope,
  options: CallMetricsOptions,
): CallMetrics {
  const exporter: PushMetricExporter = {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void) {
      options.exporter.export(metrics, (result) => {
        if (result.error) options.onExportFailure(result.error);
        done(result);
      });
    },
    forceFlush: () => options.exporter.forceFlush?.() ?? Promise.resolve(),
    shutdown: () => options.exporter.shutdown(),
    selectAggregationTemporality: (type) => temporalityFor(options.temporality, type),
  };
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: options.intervalMs,
    exportTimeoutMillis: Math.min(options.timeoutMs, options.intervalMs),
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter(scope.name, scope.version, { schemaUrl: scope.schemaUrl });
  const tokens = meter.createHistogram(METRIC_NAMES.tokenUsage, {
    unit: "{token}",
    description: "Input and output tokens per call.",
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const duration = meter.createHistogram(METRIC_NAMES.operationDuration, {
    unit: "s",
    description: "Duration of each call, arrival to last byte.",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const ttft = meter.createHistogram(METRIC_NAMES.timeToFirstToken, {
    unit: "s",
    description: "Time to the first token of streamed calls.",
    advice: { explicitBucketBoundaries: TTFT_BUCKETS },
  });
  const tpot = meter.createHistogram(METRIC_NAMES.timePerOutputToken, {
    unit: "s",
    description: "Time per output token after the first, of streamed calls.",
    advice: { explicitBucketBoundaries: TPOT_BUCKETS },
  });
  const requests = meter.createCounter(METRIC_NAMES.requests, {
    unit: "{request}",
    description: "Calls by model, call type and HTTP status.",
  });
  const cost = meter.createCounter(METRIC_NAMES.cost, {
    unit: "{USD}",
    description: "Cost in USD by model, team and key alias.",
  });
  const pipelineStats = options.pipelineStats;
  if (pipelineStats) observePipeline(meter, pipelineStats);

  const attributeSets = new AttributeSets();
  return {
    record(events, spanAttributes) {
      const sums = new CounterSums();
      events.forEach((event, i) => {
        if (event.call_type === "gateway_error") return; // not a call: a log record and a span only
        const set = attributeSets.of(spanAttributes[i]);
        const attributes = set.base;
        duration.record(Math.max(0, event.end_time - event.start_time) / 1000, attributes);
        if (event.status === "success") {
          if (event.prompt_tokens > 0) tokens.record(event.prompt_tokens, set.input);
          if (event.completion_tokens > 0) tokens.record(event.completion_tokens, set.output);
        }
        const first = event.completion_start_time;
        if (event.stream && first !== undefined && first >= event.start_time) {
          ttft.record((first - event.start_time) / 1000, attributes);
          if (event.completion_tokens > 1 && event.end_time >= first) {
            tpot.record(
              (event.end_time - first) / 1000 / (event.completion_tokens - 1),
              attributes,
            );
          }
        }
        const model = attributes["gen_ai.request.model"];
        sums.add(requests, 1, {
          ...(model !== undefined ? { "gen_ai.request.model": model } : {}),
          "sluice.call_type": event.call_type,
          "sluice.status": event.status,
          "http.response.status_code": event.error?.status ?? 200,
        });
        if (event.response_cost) {
          sums.add(cost, event.response_cost, {
            ...(model !== undefined ? { "gen_ai.request.model": model } : {}),
            ...(event.metadata.user_api_key_team
              ? { "sluice.team": event.metadata.user_api_key_team }
              : {}),
            ...(event.metadata.user_api_key_alias
              ? { "sluice.key_alias": event.metadata.user_api_key_alias }
              : {}),
          });
        }
      });
      sums.flush();
    },
    flush: () => reader.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * The sink pipeline's numbers as observable instruments, read once per
 * collection (never on the log path): `sluice.sink.events` (a monotonic
 * counter by `sluice.sink` and `sluice.outcome`), `sluice.sink.queue_depth`,
 * `sluice.sink.spool_events` and `sluice.sink.circuit_open` (gauges by
 * `sluice.sink`). Under the OTel to Prometheus name rules they are
 * `/metrics`' `sluice_sink_events_total`, `sluice_sink_queue_depth`,
 * `sluice_sink_spool_events` and `sluice_sink_circuit_open`.
 */
function observePipeline(meter: Meter, stats: () => readonly SinkStats[]): void {
  const events = meter.createObservableCounter(METRIC_NAMES.sinkEvents, {
    unit: "{event}",
    description:
      "Sink events by outcome (sent, skipped, retried, spooled, dropped, replaced, truncated).",
  });
  const queue = meter.createObservableGauge(METRIC_NAMES.sinkQueueDepth, {
    unit: "{event}",
    description: "Events waiting in memory per sink.",
  });
  const spool = meter.createObservableGauge(METRIC_NAMES.sinkSpoolEvents, {
    unit: "{event}",
    description: "Events waiting in the disk spool per sink.",
  });
  // No unit: a gauge of unit "1" gets a `_ratio` suffix in Prometheus, unlike /metrics' name.
  const circuit = meter.createObservableGauge(METRIC_NAMES.sinkCircuitOpen, {
    description: "1 while a sink's circuit is open (failing).",
  });
  meter.addBatchObservableCallback((result) => {
    for (const sink of stats()) {
      const attributes = { "sluice.sink": sink.name };
      for (const outcome of SINK_OUTCOMES) {
        result.observe(events, sink.counters[outcome] ?? 0, {
          ...attributes,
          "sluice.outcome": outcome,
        });
      }
      result.observe(queue, sink.queueDepth, attributes);
      result.observe(spool, sink.spoolSize, attributes);
      result.observe(circuit, sink.circuitOpen ? 1 : 0, attributes);
    }
  }, [events, queue, spool, circuit]);
}
