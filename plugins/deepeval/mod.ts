/**
 * `@sluice/deepeval`: a Sluice sink for [Confident AI](https://www.confident-ai.com), the
 * deepeval platform (LiteLLM's `deepeval` callback). Each call becomes one
 * trace with one LLM span, `POST {CONFIDENT_BASE_URL}/v1/traces` with the
 * `CONFIDENT_API_KEY` header: input and output as the sink's redaction
 * leaves them, model, provider, input/output token counts, cost per token,
 * start and end times, `SUCCESS` or `ERRORED` with the error, the end user,
 * the thread, tags and the call's ids.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: deepeval                # or "@sluice/deepeval"
 *     config:
 *       api_key: os.environ/CONFIDENT_API_KEY
 *       # endpoint_url: https://eu.api.confident-ai.com   # CONFIDENT_BASE_URL
 *       environment: production
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createDeepEvalSink } from "@sluice/deepeval";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const trace = await req.json();
 *   const [span] = trace.llmSpans;
 *   console.log(trace.uuid, span.model, span.inputTokenCount, span.outputTokenCount);
 *   return Response.json({ success: true, data: { id: trace.uuid } });
 * });
 * const sink = createDeepEvalSink(
 *   { api_key: "confident_us_example", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  CONFIDENT_ENVIRONMENTS,
  type ConfidentEnvironment,
  type DeepEvalConfig,
  deepevalConfigSchema,
  DEFAULT_CONCURRENCY,
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_MS,
  parseDeepEvalConfig,
} from "./config.ts";
export {
  createDeepEvalSink,
  DEEPEVAL_ENV,
  type DeepEvalSettings,
  DEFAULT_ENVIRONMENT,
  resolveDeepEvalSettings,
  TRACES_PATH,
} from "./deepeval_sink.ts";
export { deepevalLiteLLM } from "./litellm.ts";
export {
  type ConfidentLlmSpan,
  type ConfidentStatus,
  type ConfidentTrace,
  type ConfidentTraceOptions,
  llmSpanUuid,
  toConfidentTrace,
} from "./trace.ts";
// The contract types this package's API mentions, so its documentation is complete on its own.
export type {
  CallType,
  ChatMessage,
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
