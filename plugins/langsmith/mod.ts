/**
 * `@sluice/langsmith`: a Sluice sink for [LangSmith](https://smith.langchain.com)
 * (LiteLLM's `langsmith` callback). Each call is one `llm` run, sent with
 * the batch ingest endpoint (`POST {endpoint}/runs/batch`, `x-api-key`):
 *
 * - `id` is the gateway's `request_id`; the run is the root of its own
 *   trace (`trace_id` = `id`, `dotted_order` = `<start>Z<id>`), or a child
 *   of the LangSmith run the request's metadata names (`trace_id`,
 *   `parent_run_id`, `dotted_order`);
 * - `inputs.messages` and `outputs.choices` in OpenAI's chat shape, as the
 *   sink's redaction policy leaves them; `outputs.usage_metadata` with
 *   tokens and cost; `error` for failures; start and end times;
 * - `extra.metadata`: `ls_model_name`, `ls_provider`, the request's
 *   metadata, the key's alias, team and user, the call's W3C trace and
 *   span ids; `tags`: the sink's and the request's.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: langsmith               # or "@sluice/langsmith"
 *     config:
 *       api_key: os.environ/LANGSMITH_API_KEY
 *       project: support-bot       # LANGSMITH_PROJECT
 *       # endpoint_url: https://langsmith.example.com/api/v1   # LANGSMITH_BASE_URL (self-hosted)
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createLangSmithSink } from "@sluice/langsmith";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { post } = await req.json();
 *   console.log(new URL(req.url).pathname, post.length, post[0].run_type); // /runs/batch 3 llm
 *   return Response.json({}, { status: 202 });
 * });
 * const sink = createLangSmithSink(
 *   { api_key: "lsv2_pt_test", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_ENDPOINT,
  DEFAULT_PROJECT,
  DEFAULT_TIMEOUT_MS,
  type LangSmithConfig,
  langsmithConfigSchema,
  parseLangSmithConfig,
} from "./config.ts";
export {
  BATCH_PATH,
  createLangSmithSink,
  LANGSMITH_ENV,
  type LangSmithSettings,
  MAX_REQUEST_BYTES,
  MAX_RUNS_PER_REQUEST,
  resolveLangSmithSettings,
} from "./langsmith_sink.ts";
export { langsmithLiteLLM, LITELLM_PROJECT, LITELLM_RUN_NAME } from "./litellm.ts";
export {
  dottedOrderSegment,
  type LangSmithRun,
  type LangSmithRunOptions,
  type LangSmithUsage,
  toLangSmithRun,
} from "./runs.ts";
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
