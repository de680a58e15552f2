/**
 * `@sluice/athina`: a Sluice sink for [Athina](https://athina.ai) (LiteLLM's
 * `athina` callback). Each call becomes one inference log,
 * `POST {ATHINA_BASE_URL}/api/v1/log/inference` with the `athina-api-key`
 * header: the model, the prompt (messages) and the response (a
 * `ChatCompletion`) as the sink's redaction leaves them, prompt, completion
 * and total tokens, cost, `response_time` in ms, the status and error of a
 * failed call, the end user, and the metadata keys LiteLLM forwards
 * (`environment`, `prompt_slug`, `customer_id`, `session_id`,
 * `external_reference_id`, `context`, `expected_response`, `user_query`,
 * `tags`, `custom_attributes`, …).
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: athina                  # or "@sluice/athina"
 *     config:
 *       api_key: os.environ/ATHINA_API_KEY
 *       # endpoint_url: http://localhost:9000   # ATHINA_BASE_URL
 *       environment: production
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createAthinaSink } from "@sluice/athina";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const log = await req.json();
 *   console.log(log.language_model_id, log.prompt_tokens, log.response_time);
 *   return Response.json({ status: "success" });
 * });
 * const sink = createAthinaSink(
 *   { api_key: "ak-example", endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  type AthinaConfig,
  athinaConfigSchema,
  DEFAULT_CONCURRENCY,
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_MS,
  parseAthinaConfig,
} from "./config.ts";
export {
  ATHINA_ENV,
  type AthinaSettings,
  createAthinaSink,
  LOG_PATH,
  resolveAthinaSettings,
} from "./athina_sink.ts";
export { athinaLiteLLM } from "./litellm.ts";
export {
  type AthinaChatCompletion,
  type AthinaInference,
  type AthinaInferenceOptions,
  toAthinaInference,
} from "./inference.ts";
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
