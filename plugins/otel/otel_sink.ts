/**
 * The otel sink: per call one GenAI span, one log record and metric
 * measurements, exported over OTLP (gRPC, HTTP protobuf or HTTP JSON) or to
 * the console.
 * @module
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { LogEvent, PluginContext, Sink, TelemetryBatch } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import {
  parseOtelConfig,
  type ResolvedOtelConfig,
  type ResolvedSignal,
  resolveOtelConfig,
  type SignalName,
} from "./config.ts";
import { displayUrl, RecentIds } from "@sluice/core/sink-http";
import {
  createConsoleExporter,
  createOtlpExporter,
  exportItems,
  ITEM_NAMES,
  type ItemExporter,
  type SignalItems,
} from "./exporter.ts";
import {
  eventToGenAiSpan,
  GENAI_SCHEMA_URL,
  type GenAiAttributes,
  withoutContent,
} from "./genai.ts";
import { type SpanScope, toReadableSpan } from "./spans.ts";
import { createCallLogger } from "./logs.ts";
import { createCallMetrics } from "./metrics.ts";
import { createTelemetryForwarder } from "./ingest.ts";

/** The instrumentation scope name of every span, log record and metric. */
export const SCOPE_NAME = "@sluice/otel";

/** An otel sink, with the settings it resolved (for logs and tests). */
export interface OtelSink extends Sink {
  /** What config, preset and environment resolved to (header values included: do not log them). */
  readonly settings: ResolvedOtelConfig;
}

/** Ids of events each signal delivered, so a retried batch is not sent twice. */
const REMEMBERED_IDS = 100_000;

/**
 * Creates the otel sink: validates `config` (zod), resolves it against the
 * preset and the environment read through `ctx.env`, and builds one
 * exporter per signal.
 *
 * `log(events)` maps every event to a span ({@link eventToGenAiSpan}) with
 * the event's own trace and span ids and times, and to a log record in that
 * span; spans and records each go in one OTLP request, and `log` resolves
 * when the collector accepted both. It rejects with `permanent` /
 * `retryAfterMs` set as the plugin contract asks, so the gateway's pipeline
 * retries, spools or drops (the exporters never retry). A retried batch
 * sends each signal only the events it has not delivered yet. Metrics are
 * recorded once per event and exported on their own interval.
 *
 * @param config The sink entry's `config:` (see `OtelConfig`).
 * @param ctx The plugin context (`env`, `fetch`, `logger`, `gatewayVersion`).
 * @returns The sink.
 * @throws Error for an invalid config, or a preset missing its credentials.
 *
 * @example
 * ```ts
 * import { createOtelSink } from "@sluice/otel";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const spans: unknown[] = [];
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   spans.push(...(await req.json()).resourceSpans[0].scopeSpans[0].spans);
 *   return Response.json({});
 * });
 * const sink = createOtelSink(
 *   { traces_endpoint: `http://127.0.0.1:${server.addr.port}/v1/traces`, protocol: "http/json" },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * console.log(spans.length); // 2
 * await sink.close?.();
 * await server.shutdown();
 * ```
 */
export function createOtelSink(
  config: unknown,
  ctx: Pick<PluginContext, "env" | "fetch" | "logger" | "gatewayVersion" | "pipelineStats">,
): OtelSink {
  const settings = resolveOtelConfig(
    parseOtelConfig(config),
    (name) => ctx.env(name),
    ctx.gatewayVersion,
  );
  for (const warning of settings.warnings) ctx.logger.warn(warning);
  const resource = resourceFromAttributes(settings.resource);
  const scope: SpanScope = {
    name: SCOPE_NAME,
    version: denoJson.version,
    schemaUrl: GENAI_SCHEMA_URL,
  };
  const exporterOf = <S extends SignalName>(signal: S, signalSettings: ResolvedSignal) => {
    if (signalSettings.exporter === "console") {
      ctx.logger.info(`printing ${signal} to the console`);
      return createConsoleExporter(signal);
    }
    ctx.logger.info(
      `exporting ${signal} to ${displayUrl(signalSettings.url)} (${signalSettings.protocol}${
        signalSettings.compression === "gzip" ? ", gzip" : ""
      }, from ${signalSettings.urlSource}${
        settings.preset && !signalSettings.urlSource.startsWith("preset")
          ? `, preset ${settings.preset}`
          : ""
      })`,
    );
    return createOtlpExporter(signal, signalSettings, {
      fetch: (input, init) => ctx.fetch(input, init),
      onPartialSuccess: ({ rejected, message }) =>
        ctx.logger.warn(
          `the collector accepted the ${signal} but rejected ${rejected} ${ITEM_NAMES[signal]}${
            message ? `: ${message}` : ""
          }`,
        ),
    }) as ItemExporter<SignalItems[S]>;
  };
  const { traces, metrics, logs } = settings.signals;
  const spanExporter = traces && exporterOf("traces", traces);
  const logExporter = logs && exporterOf("logs", logs);
  const callLogger = logs &&
    createCallLogger(resource, scope, settings.span, {
      compact: spanExporter !== undefined,
      content: settings.content.logs,
    });
  const callMetrics = metrics && createCallMetrics(resource, scope, {
    exporter: exporterOf("metrics", metrics),
    intervalMs: settings.metrics.intervalMs,
    timeoutMs: metrics.timeoutMs,
    temporality: settings.metrics.temporality,
    pipelineStats: settings.metrics.pipeline && ctx.pipelineStats
      ? () => ctx.pipelineStats?.() ?? []
      : undefined,
    onExportFailure: (error) =>
      ctx.logger.warn(
        `metrics export failed (the next interval sends the sums again): ${
          error instanceof Error ? error.message : String(error)
        }`,
      ),
  });
  const forwarder = createTelemetryForwarder(settings, ctx);
  const sentSpans = new RecentIds(REMEMBERED_IDS);
  const sentLogs = new RecentIds(REMEMBERED_IDS);
  const measured = new RecentIds(REMEMBERED_IDS);
  let closed = false;

  /** Exports the events `sent` has not seen; remembers them once the collector took them. */
  const deliver = async <T>(
    sent: RecentIds,
    events: readonly LogEvent[],
    exporter: ItemExporter<T>,
    build: (pending: LogEvent[], spans: ReturnType<typeof eventToGenAiSpan>[]) => T,
    spans: ReturnType<typeof eventToGenAiSpan>[],
  ) => {
    const pending: LogEvent[] = [];
    const pendingSpans: ReturnType<typeof eventToGenAiSpan>[] = [];
    events.forEach((event, i) => {
      if (!sent.has(event.request_id)) {
        pending.push(event);
        pendingSpans.push(spans[i]);
      }
    });
    if (pending.length === 0) return;
    await exportItems(exporter, build(pending, pendingSpans));
    for (const event of pending) sent.add(event.request_id);
  };

  return {
    settings,
    async log(events: readonly LogEvent[]): Promise<void> {
      if (events.length === 0) return;
      if (closed) throw new Error("otel: the sink is closed");
      const spans = events.map((event) => eventToGenAiSpan(event, settings.span));
      if (callMetrics) {
        const fresh: LogEvent[] = [];
        const freshAttributes: GenAiAttributes[] = [];
        events.forEach((event, i) => {
          if (measured.has(event.request_id)) return;
          measured.add(event.request_id);
          fresh.push(event);
          freshAttributes.push(spans[i].attributes);
        });
        callMetrics.record(fresh, freshAttributes);
      }
      const results = await Promise.allSettled([
        spanExporter &&
        deliver(
          sentSpans,
          events,
          spanExporter,
          (_, pending) =>
            pending.map((span) =>
              toReadableSpan(
                settings.content.spans
                  ? span
                  : { ...span, attributes: withoutContent(span.attributes) },
                resource,
                scope,
              )
            ),
          spans,
        ),
        logExporter && callLogger &&
        deliver(
          sentLogs,
          events,
          logExporter,
          (pending, pendingSpans) => callLogger.records(pending, pendingSpans),
          spans,
        ),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
    exportTelemetry(batch: TelemetryBatch): Promise<void> {
      if (closed) return Promise.reject(new Error("otel: the sink is closed"));
      return forwarder.export(batch);
    },
    async flush(): Promise<void> {
      await Promise.all([
        spanExporter?.forceFlush?.(),
        logExporter?.forceFlush?.(),
        callMetrics?.flush(),
      ]);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      forwarder.close();
      await Promise.allSettled([
        spanExporter?.shutdown(),
        logExporter?.shutdown(),
        callMetrics?.shutdown(),
        callLogger?.shutdown(),
      ]);
    },
  };
}
