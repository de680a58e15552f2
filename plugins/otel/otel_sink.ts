/**
 * The otel sink: one GenAI span per event, exported over OTLP/HTTP (JSON or
 * protobuf) or to the console.
 * @module
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import { parseOtelConfig, type ResolvedOtelConfig, resolveOtelConfig } from "./config.ts";
import { displayUrl } from "@sluice/core/sink-http";
import { createConsoleSpanExporter, createOtlpSpanExporter, exportSpans } from "./exporter.ts";
import { eventToGenAiSpan, GENAI_SCHEMA_URL } from "./genai.ts";
import { type SpanScope, toReadableSpan } from "./spans.ts";

/** The instrumentation scope name of every span. */
export const SCOPE_NAME = "@sluice/otel";

/** An otel sink, with the settings it resolved (for logs and tests). */
export interface OtelSink extends Sink {
  /** What config, preset and environment resolved to (header values included: do not log them). */
  readonly settings: ResolvedOtelConfig;
}

/**
 * Creates the otel sink: validates `config` (zod), resolves it against the
 * preset and the environment read through `ctx.env`, and builds the
 * exporter. `log(events)` maps every event to a span
 * ({@link eventToGenAiSpan}) with the event's own trace and span ids and
 * times, and exports the batch in one OTLP request; it resolves when the
 * collector accepted it and rejects with `permanent` / `retryAfterMs` set
 * as the plugin contract asks, so the gateway's pipeline retries, spools
 * or drops (the exporter itself never retries).
 *
 * @param config The sink entry's `config:` (see `OtelConfig`).
 * @param ctx The plugin context (`env`, `fetch`, `logger`, `gatewayVersion`).
 * @returns The sink.
 * @throws Error for an invalid config, gRPC, or a preset missing its credentials.
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
  ctx: Pick<PluginContext, "env" | "fetch" | "logger" | "gatewayVersion">,
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
  let exporter: SpanExporter;
  if (settings.exporter === "console") {
    exporter = createConsoleSpanExporter();
    ctx.logger.info("printing spans to the console");
  } else {
    exporter = createOtlpSpanExporter({
      url: settings.url,
      headers: settings.headers,
      protocol: settings.protocol,
      timeoutMs: settings.timeoutMs,
      fetch: (input, init) => ctx.fetch(input, init),
      onPartialSuccess: (rejected, message) =>
        ctx.logger.warn(
          `the collector accepted the batch but rejected ${rejected} span(s)${
            message ? `: ${message}` : ""
          }`,
        ),
    });
    ctx.logger.info(
      `exporting spans to ${
        displayUrl(settings.url)
      } (${settings.protocol}, from ${settings.urlSource}${
        settings.preset ? `, preset ${settings.preset}` : ""
      })`,
    );
  }
  let closed = false;

  return {
    settings,
    async log(events: readonly LogEvent[]): Promise<void> {
      if (events.length === 0) return;
      if (closed) throw new Error("otel: the sink is closed");
      const spans = events.map((event) =>
        toReadableSpan(eventToGenAiSpan(event, settings.span), resource, scope)
      );
      await exportSpans(exporter, spans);
    },
    async flush(): Promise<void> {
      await exporter.forceFlush?.();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await exporter.shutdown();
    },
  };
}
