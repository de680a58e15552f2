/**
 * `@sluice/galileo`: a Sluice sink that records every LLM call in
 * [Galileo](https://galileo.ai) for evaluation (LiteLLM's `galileo`
 * callback), one request per batch, through either flow:
 *
 * - API key (`Galileo-API-Key`): v2 ingestion, each call an LLM span with
 *   input messages, output message, model, status code, duration (ns),
 *   token counts, tags and metadata, in a log stream if one is set;
 * - username/password (legacy): `POST /login` for a bearer token (cached,
 *   renewed on 401), then Observe records (`input_text`, `output_text`,
 *   `model`, tokens, `latency_ms`, `status_code`, `node_type`, …) to
 *   `/projects/{id}/observe/ingest`.
 *
 * Failed calls are recorded too, with the status code the client got.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and the mappings.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: galileo                 # or "@sluice/galileo"
 *     redaction: { messages: remove }   # optional: metadata, tokens and timings only
 *     config:
 *       project_id: os.environ/GALILEO_PROJECT_ID
 *       api_key: os.environ/GALILEO_API_KEY
 *       log_stream_id: os.environ/GALILEO_LOG_STREAM_ID
 * ```
 *
 * @example Send a batch from code (legacy flow)
 * ```ts
 * import { createGalileoSink } from "@sluice/galileo";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   if (new URL(req.url).pathname === "/login") return Response.json({ access_token: "t" });
 *   console.log((await req.json()).records.length, "records"); // 3 records
 *   return Response.json({});
 * });
 * const sink = createGalileoSink({
 *   base_url: `http://127.0.0.1:${server.addr.port}`,
 *   project_id: "9b6e1c2a-0f4d-4c55-9b1e-2f8d3c4a5b6e",
 *   username: "me@example.com",
 *   password: "pw",
 * }, createTestContext());
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  type GalileoConfig,
  galileoConfigSchema,
  type GalileoIngest,
  parseGalileoConfig,
} from "./config.ts";
export {
  createGalileoSink,
  DEFAULT_RETRY_AFTER_MS,
  GALILEO_ENV,
  type GalileoFlow,
  type GalileoSink,
} from "./galileo_sink.ts";
export {
  GALILEO_ROLES,
  galileoInput,
  type GalileoLlmMetrics,
  type GalileoLlmSpan,
  type GalileoMessage,
  type GalileoObserveRecord,
  galileoOutput,
  type GalileoToolCall,
  type GalileoTrace,
  galileoTraceUuid,
  galileoUserMetadata,
  toGalileoSpan,
  toGalileoTrace,
  toObserveRecord,
} from "./galileo_records.ts";
// The contract types this package's API mentions, so its documentation is complete on its own.
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
  SinkEventKind,
} from "@sluice/core/plugin";
