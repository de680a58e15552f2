/**
 * `@sluice/otel`: a Sluice sink that turns every LLM call into one
 * OpenTelemetry span following the GenAI semantic conventions, and exports
 * it over OTLP/HTTP (`http/protobuf` or `http/json`) with the official
 * OpenTelemetry JavaScript packages, or prints it to the console.
 *
 * - The span uses the trace and span ids core created for the call, so a
 *   client's `traceparent` makes it a child of the caller's span and the
 *   `x-sluice-trace-id` response header names its trace.
 * - Start and end are the call's real times (for streams, the end of the
 *   stream), with time to first token.
 * - Messages are recorded only when the sink's redaction policy kept them.
 * - Configuration comes from `config:`, a backend `preset` (SigNoz,
 *   Honeycomb, Traceloop, Laminar, Langfuse, Portkey) and the standard
 *   `OTEL_*` variables (and LiteLLM's `OTEL_EXPORTER` / `OTEL_ENDPOINT` /
 *   `OTEL_HEADERS`).
 * - The exporter makes one attempt per batch; the gateway's pipeline
 *   retries, opens its circuit and spools, so an outage of the collector
 *   loses nothing and retries never multiply.
 *
 * The span mapping alone is `@sluice/otel/genai`.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: otel                     # or "@sluice/otel"
 *     config:
 *       endpoint: http://127.0.0.1:4318
 *       protocol: http/protobuf
 *   - name: langfuse-otel
 *     use: otel
 *     config: { preset: langfuse }  # LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_HOST
 * ```
 *
 * @example Export a batch from code
 * ```ts
 * import { createOtelSink } from "@sluice/otel";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const body = await req.json();
 *   console.log(body.resourceSpans[0].scopeSpans[0].spans.map((s: { name: string }) => s.name));
 *   return Response.json({});
 * });
 * const sink = createOtelSink(
 *   { endpoint: `http://127.0.0.1:${server.addr.port}`, protocol: "http/json" },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(3)); // ["chat gpt-4o-mini", "chat gpt-4o-mini", "chat gpt-4o-mini"]
 * await sink.close?.();
 * await server.shutdown();
 * ```
 * @module
 */
export { default, LITELLM_PRESET_CALLBACKS } from "./plugin.ts";
export {
  type Compression,
  CONTENT_CAPTURE_MODES,
  type ContentCapture,
  DEFAULT_GRPC_URL,
  DEFAULT_METRIC_INTERVAL_MS,
  DEFAULT_SERVICE_NAME,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TRACES_URL,
  type EnvReader,
  type ExporterName,
  GRPC_ENV_VARS,
  LITELLM_ENV_VARS,
  OTEL_ENV_VARS,
  OTEL_PLUGIN_ENV,
  type OtelConfig,
  otelConfigSchema,
  type OtlpProtocol,
  parseOtelConfig,
  type ResolvedOtelConfig,
  type ResolvedSignal,
  resolveOtelConfig,
  SIGNAL_NAMES,
  type SignalName,
  type TemporalityPreference,
  type TlsFiles,
} from "./config.ts";
export { METRIC_NAMES, SINK_OUTCOMES } from "./metrics.ts";
export { CALL_EVENT_NAME, GATEWAY_ERROR_EVENT_NAME } from "./logs.ts";
export { createOtelSink, type OtelSink, SCOPE_NAME } from "./otel_sink.ts";
export {
  PRESET_NAMES,
  type PresetDefinition,
  type PresetName,
  PRESETS,
  type PresetValues,
} from "./presets.ts";
export type { GenAiSpanOptions, SystemInstructionsMode } from "./genai.ts";
export { parseKeyValueList, signalPathUrl, TRACES_PATH, tracesUrl } from "./env.ts";
// The HTTP helpers this sink uses, kept here for compatibility (they live in `@sluice/core/sink-http`).
export { displayUrl, parseRetryAfter } from "@sluice/core/sink-http";
export { DEFAULT_RETRY_AFTER_MS } from "./exporter.ts";
/** The plugin contract's types this package's API mentions (re-exported from `@sluice/core/plugin`). */
export type {
  JsonSchema,
  PluginContext,
  PluginDefinition,
  PluginFetchInit,
  PluginLogger,
  PluginPermissions,
  Sink,
  SinkError,
  SinkEventKind,
  SinkLogResult,
} from "@sluice/core/plugin";
