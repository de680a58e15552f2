/**
 * `@sluice/openmeter`: a Sluice sink that sends one usage event per call to
 * [OpenMeter](https://openmeter.io) for billing (LiteLLM's `openmeter`
 * callback): CloudEvents 1.0 to `POST {endpoint}/api/v1/events` with
 * `Authorization: Bearer <key>`, one request per batch.
 *
 * - `id` is the gateway's `request_id`: a retried batch is de-duplicated by
 *   OpenMeter, and a client cannot pick the id.
 * - `subject` (the billed customer) is the virtual key's user, else its
 *   team, else the request's `user` field only with `trust_request_user`.
 *   Calls with no subject are counted and reported, never sent.
 * - `data`: model, provider, prompt/completion/total tokens, cost, call
 *   type, key alias, team.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and the mapping.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: openmeter               # or "@sluice/openmeter"
 *     required: true               # no-log and x-sluice-disable-sinks cannot skip billing
 *     config:
 *       api_key: os.environ/OPENMETER_API_KEY
 *       event_type: llm_tokens
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createOpenMeterSink } from "@sluice/openmeter";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   console.log(req.headers.get("content-type"), (await req.json()).length); // application/cloudevents-batch+json 3
 *   return new Response(null, { status: 204 });
 * });
 * const sink = createOpenMeterSink(
 *   { api_key: "om_test", endpoint: `http://127.0.0.1:${server.addr.port}` },
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
  DEFAULT_TIMEOUT_MS,
  type OpenMeterConfig,
  openMeterConfigSchema,
  parseOpenMeterConfig,
} from "./config.ts";
export { LITELLM_EVENT_TYPE, openMeterLiteLLM } from "./litellm.ts";
export {
  BATCH_CONTENT_TYPE,
  createOpenMeterSink,
  DEFAULT_RETRY_AFTER_MS,
  OPENMETER_ENV,
  type OpenMeterSink,
  type OpenMeterStats,
  SINGLE_CONTENT_TYPE,
  UNBILLED_REPORT_INTERVAL_MS,
} from "./openmeter_sink.ts";
export {
  type BillingSubject,
  billingSubject,
  type CloudEventOptions,
  DEFAULT_EVENT_TYPE,
  DEFAULT_SOURCE,
  type OpenMeterCloudEvent,
  type OpenMeterUsageData,
  type SubjectSource,
  toCloudEvent,
} from "./cloud_event.ts";
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
