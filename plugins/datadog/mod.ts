/**
 * `@sluice/datadog`: a Sluice sink for [Datadog](https://www.datadoghq.com)
 * (LiteLLM's `datadog` and `datadog_llm_observability` callbacks).
 *
 * - `intake: logs` (default): one log per call to the Logs intake,
 *   `POST https://http-intake.logs.<site>/api/v2/logs` with `DD-API-KEY`,
 *   gzip, at most 1,000 entries and 5 MB per request. The log's `message`
 *   is the call as JSON (LiteLLM's StandardLoggingPayload names), `status`
 *   `info` or `error`, `ddtags` the model, provider, team, key alias and
 *   request tags.
 * - `intake: llm_obs`: one LLM span per call to LLM Observability,
 *   `POST https://api.<site>/api/intake/llm-obs/v1/trace/spans`, under
 *   `ml_app` (`DD_LLMOBS_ML_APP`), with input and output as the sink's
 *   redaction policy leaves them, token metrics, model and provider, and
 *   the call's own trace id.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory, the record mappings and the LiteLLM
 * mapping.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: datadog                 # or "@sluice/datadog"
 *     config:
 *       api_key: os.environ/DD_API_KEY
 *       site: datadoghq.eu         # DD_SITE
 *       service: llm-gateway       # DD_SERVICE
 *       env: prod                  # DD_ENV
 *   - name: datadog-llm-obs
 *     use: datadog
 *     config: { intake: llm_obs, ml_app: support-bot }
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createDatadogSink } from "@sluice/datadog";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const text = await new Response(req.body!.pipeThrough(new DecompressionStream("gzip"))).text();
 *   console.log(req.headers.get("content-encoding"), JSON.parse(text).length); // gzip 3
 *   return new Response("{}", { status: 202 });
 * });
 * const sink = createDatadogSink(
 *   { api_key: "dd-test-key", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  type DatadogConfig,
  datadogConfigSchema,
  type DatadogIntake,
  DEFAULT_SERVICE,
  DEFAULT_SITE,
  DEFAULT_SOURCE,
  DEFAULT_TIMEOUT_MS,
  parseDatadogConfig,
} from "./config.ts";
export {
  createDatadogSink,
  DATADOG_ENV,
  type DatadogSettings,
  LLM_OBS_PATH,
  LOGS_PATH,
  MAX_LOGS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  resolveDatadogSettings,
} from "./datadog_sink.ts";
export { datadogLiteLLM, LITELLM_AGENT_PORT, LITELLM_SERVICE, LITELLM_SOURCE } from "./litellm.ts";
export {
  type DatadogLogItem,
  type DatadogRecordOptions,
  datadogTag,
  DROPPED_CONTENT,
  eventTags,
  type LlmObsIO,
  type LlmObsMessage,
  type LlmObsSpan,
  type LlmObsSpansRequest,
  LOG_DATE_WINDOW_MS,
  MAX_ITEM_BYTES,
  toLlmObsSpan,
  toLogItem,
} from "./records.ts";
// The contract types this package's API mentions, so its documentation is complete on its own.
export type {
  CallType,
  JsonSchema,
  LiteLLMCallbackInput,
  LiteLLMMapping,
  LiteLLMProblem,
  LiteLLMSinkEntry,
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
  SinkCallOptions,
  SinkEventKind,
  SinkLogResult,
} from "@sluice/core/plugin";
