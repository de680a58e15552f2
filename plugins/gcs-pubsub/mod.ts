/**
 * `@sluice/gcs-pubsub`: a Sluice sink that publishes every LLM call to a
 * Google Cloud Pub/Sub topic (LiteLLM's `gcs_pubsub` callback): one message
 * per call, its data the log event as JSON, its attributes the call's ids
 * and status (for subscription filters), an ordering key when asked.
 *
 * Messages go out with `topics.publish` in requests of at most 1,000
 * messages and 10 MB, one ordering key per request, and are confirmed
 * (a message id each) before the gateway removes their events from the
 * queue. Credentials are `@sluice/gcs/auth`'s (shared with `@sluice/gcs`);
 * `PUBSUB_EMULATOR_HOST` publishes to the emulator without them.
 *
 * The default export is the plugin definition (contract v1); the named
 * exports are the sink factory and its helpers.
 *
 * @example Use it in gateway.yaml
 * ```yaml
 * sinks:
 *   - use: gcs-pubsub                # or "@sluice/gcs-pubsub"
 *     config:
 *       project_id: my-project
 *       topic_id: llm-logs
 *       attributes: { env: prod }
 *       service_account_json: os.environ/GCS_SERVICE_ACCOUNT_JSON
 * ```
 *
 * @example Publish from code (to the emulator: no credentials)
 * ```ts
 * import { createPubSubSink } from "@sluice/gcs-pubsub";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { messages } = await req.json();
 *   console.log(messages[0].attributes.status); // success
 *   return Response.json({ messageIds: messages.map((_: unknown, i: number) => String(i + 1)) });
 * });
 * const ctx = createTestContext({
 *   env: { PUBSUB_EMULATOR_HOST: `127.0.0.1:${server.addr.port}` },
 *   permissions: { env: ["PUBSUB_EMULATOR_HOST"] },
 * });
 * const sink = await createPubSubSink({ project_id: "p1", topic_id: "llm-logs" }, ctx);
 * await sink.log(sampleEvents(2));
 * await server.shutdown();
 * ```
 * @module
 */
export { default } from "./plugin.ts";
export { pubsubLiteLLM } from "./litellm.ts";
export {
  DEFAULT_TIMEOUT_MS,
  EVENT_ATTRIBUTES,
  ORDERING_KEY_FIELDS,
  type OrderingKeyField,
  parsePubSubConfig,
  PUBSUB_ENDPOINT,
  PUBSUB_ENV_VARS,
  PUBSUB_SCOPE,
  type PubSubConfig,
  pubsubConfigSchema,
  type PubSubTarget,
  resolvePubSubTarget,
} from "./config.ts";
export {
  eventMessage,
  MAX_ATTRIBUTE_BYTES,
  MAX_DATA_BYTES,
  MAX_MESSAGES_PER_REQUEST,
  MAX_REQUEST_BYTES,
  planRequests,
  type PreparedMessage,
  type PublishPlan,
  type PubSubMessage,
  REQUEST_BUDGET_BYTES,
} from "./messages.ts";
export type {
  AuthorizedUserKey,
  GoogleAuth,
  GoogleCredentialSource,
  GoogleKey,
  ServiceAccountKey,
} from "@sluice/gcs/auth";
export { createPubSubSink, publishUrl, type PubSubSinkOptions } from "./pubsub_sink.ts";
