/**
 * `@sluice/langfuse`: a Sluice sink that shows every LLM call in
 * [Langfuse](https://langfuse.com) as a trace with one generation, driven by
 * the same request metadata and environment variables as LiteLLM's
 * `langfuse` / `langfuse_otel` callbacks.
 *
 * - Transport `otel` (default): OTLP (protobuf or JSON) to
 *   `{host}/api/public/otel/v1/traces` with Basic auth and
 *   `x-langfuse-ingestion-version: 4`. Each call is the GenAI span of
 *   `@sluice/otel/genai` (same trace and span ids as the otel sink's) plus
 *   Langfuse's `langfuse.*` attributes, encoded by the official
 *   OpenTelemetry serializers.
 * - Transport `ingestion`: the legacy batch API
 *   `POST {host}/api/public/ingestion` (`trace-create` +
 *   `generation-create`), for self-hosted servers without OTLP. Langfuse
 *   Cloud removed it on 2026-11-16.
 * - Trace id = the event's `trace_id` (from `traceparent` or
 *   `metadata.trace_id`); `existing_trace_id` appends to that trace and
 *   updates only the fields in `update_trace_keys`. Names, user, session,
 *   tags (with `langfuse_default_tags`), model, parameters, input and
 *   output, usage, cost, first-token time and errors follow LiteLLM.
 * - Sampling by trace id (`sample_rate`), credentials from config or
 *   `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` / `LANGFUSE_HOST`.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and the mapping.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: langfuse                 # or "@sluice/langfuse"
 *     config:
 *       public_key: os.environ/LANGFUSE_PUBLIC_KEY
 *       secret_key: os.environ/LANGFUSE_SECRET_KEY
 *       host: https://cloud.langfuse.com
 *       default_tags: [user_api_key_alias]
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createLangfuseSink } from "@sluice/langfuse";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const body = await req.json();
 *   console.log(new URL(req.url).pathname, body.resourceSpans[0].scopeSpans[0].spans.length);
 *   // /api/public/otel/v1/traces 3
 *   return Response.json({});
 * });
 * const sink = createLangfuseSink(
 *   {
 *     public_key: "pk-lf-demo",
 *     secret_key: "sk-lf-demo",
 *     host: `http://127.0.0.1:${server.addr.port}`,
 *     protocol: "http/json",
 *   },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(3));
 * await sink.close?.();
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { langfuseLiteLLM } from "./litellm.ts";
export {
  CLOUD_HOSTS,
  DEFAULT_HOST,
  DEFAULT_INGESTION_VERSION,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_TIMEOUT_MS,
  endpointUrl,
  INGESTION_PATH,
  LANGFUSE_ENV,
  type LangfuseConfig,
  langfuseConfigSchema,
  type LangfuseOtlpProtocol,
  type LangfuseSettings,
  type LangfuseTransport,
  normalizeHost,
  OTEL_TRACES_PATH,
  parseLangfuseConfig,
  resolveLangfuseSettings,
} from "./config.ts";
export {
  createLangfuseSink,
  type LangfusePublicSettings,
  type LangfuseSink,
  type LangfuseStats,
  MAX_REMEMBERED_ITEMS,
  RATE_LIMIT_BASE_MS,
  RATE_LIMIT_MAX_MS,
  SCOPE_NAME,
} from "./langfuse_sink.ts";
export {
  isSecretKey,
  type LangfuseGeneration,
  type LangfuseLevel,
  type LangfuseMappingOptions,
  type LangfuseMapValue,
  type LangfuseRecord,
  type LangfuseTrace,
  type LangfuseTraceField,
  otelTraceIdOf,
  renderDefaultTags,
  toLangfuseRecord,
  TRACE_FIELDS,
  traceSampleScore,
  traceUpdates,
} from "./mapping.ts";
export {
  existingTraceParentId,
  LANGFUSE_ATTRIBUTES,
  langfuseAttributes,
  type LangfuseScope,
  type LangfuseSpanOptions,
  toLangfuseSpan,
} from "./otel.ts";
export {
  BATCH_OVERHEAD,
  type IngestionEnvelope,
  type IngestionItem,
  type IngestionResponse,
  isPermanentItemStatus,
  jsonBytes,
  packBatches,
  parseIngestionResponse,
  sizeItem,
  toIngestionEnvelopes,
} from "./ingestion.ts";
// The contract and GenAI types this package's API mentions, so its documentation is complete.
export type {
  CallType,
  JsonSchema,
  LogEvent,
  LogEventCostBreakdown,
  LogEventError,
  LogEventMetadata,
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
export type {
  GenAiAttributes,
  GenAiAttributeValue,
  GenAiSpan,
  GenAiSpanStatus,
  GenAiTime,
} from "@sluice/otel/genai";
