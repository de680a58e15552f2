/**
 * `@sluice/lunary`: a Sluice sink for [Lunary](https://lunary.ai) (LiteLLM's
 * `lunary` callback). Each call becomes two run events of
 * `POST {LUNARY_API_URL}/v1/runs/ingest` (`Authorization: Bearer <public
 * key>`): `start` (model, input, user, tags, parameters, metadata) and
 * `end` (output, prompt and completion tokens) or `error`, under the run
 * id `request_id`. Lunary prices the run from its model and tokens.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: lunary                  # or "@sluice/lunary"
 *     config:
 *       public_key: os.environ/LUNARY_PUBLIC_KEY
 *       # endpoint_url: http://localhost:3333   # LUNARY_API_URL (self-hosted)
 * ```
 *
 * @example Send a batch from code
 * ```ts
 * import { createLunarySink } from "@sluice/lunary";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { events } = await req.json();
 *   console.log(events.map((e: { event: string }) => e.event).join(",")); // start,end,start,end
 *   return Response.json({ results: [] });
 * });
 * const sink = createLunarySink(
 *   { public_key: crypto.randomUUID(), endpoint_url: `http://127.0.0.1:${server.addr.port}` },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export {
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT_MS,
  type LunaryConfig,
  lunaryConfigSchema,
  parseLunaryConfig,
} from "./config.ts";
export {
  createLunarySink,
  INGEST_PATH,
  LUNARY_ENV,
  type LunarySettings,
  resolveLunarySettings,
} from "./lunary_sink.ts";
export { lunaryLiteLLM } from "./litellm.ts";
export { type LunaryEvent, toLunaryEvents } from "./events.ts";
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
