/**
 * `@sluice/mlflow`: a Sluice sink for [MLflow](https://mlflow.org) tracing
 * (LiteLLM's `mlflow` callback). Each call becomes one MLflow trace with one
 * `LLM` span, sent to the tracking server's OpenTelemetry endpoint
 * (`POST {MLFLOW_TRACKING_URI}/v1/traces`, OTLP protobuf, the experiment in
 * `x-mlflow-experiment-id`; MLflow 3.6 or later with a SQL backend store).
 * The span carries MLflow's span attributes: inputs and outputs in
 * OpenAI's shape as the sink's redaction leaves them, token usage, cost,
 * model and provider; MLflow derives the trace's previews, state, times
 * and token usage from it. The experiment is an id, or a name resolved
 * (and created when missing) once; credentials are MLflow's basic auth or
 * a bearer token.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: mlflow                  # or "@sluice/mlflow"
 *     config:
 *       endpoint_url: os.environ/MLFLOW_TRACKING_URI
 *       experiment_name: LiteLLM   # or experiment_id: "1"
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createMlflowSink } from "@sluice/mlflow";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const bytes = new Uint8Array(await req.arrayBuffer());
 *   console.log(req.headers.get("x-mlflow-experiment-id"), bytes.length > 0); // 1 true
 *   return new Response(new Uint8Array(), { headers: { "content-type": "application/x-protobuf" } });
 * });
 * const sink = createMlflowSink(
 *   { endpoint_url: `http://127.0.0.1:${server.addr.port}`, experiment_id: "1" },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_TIMEOUT_MS,
  type MlflowConfig,
  mlflowConfigSchema,
  parseMlflowConfig,
} from "./config.ts";
export {
  createMlflowSink,
  DEFAULT_EXPERIMENT_ID,
  EXPERIMENT_HEADER,
  MLFLOW_ENV,
  type MlflowSettings,
  OTLP_TRACES_PATH,
  resolveMlflowSettings,
} from "./mlflow_sink.ts";
export { mlflowLiteLLM } from "./litellm.ts";
export {
  type MlflowSpanOptions,
  type MlflowTokenUsage,
  mlflowTraceId,
  SPAN_ATTRIBUTES,
  toMlflowSpan,
} from "./spans.ts";
export {
  encodeTraceRequest,
  type OtlpSpan,
  type OtlpTraceRequest,
  type OtlpValue,
} from "./otlp_protobuf.ts";
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
