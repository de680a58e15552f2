/**
 * The gcs-pubsub plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import { googleAuthFiles, googleAuthUrls } from "@sluice/gcs/auth";
import denoJson from "./deno.json" with { type: "json" };
import {
  parsePubSubConfig,
  PUBSUB_ENV_VARS,
  type PubSubConfig,
  pubsubConfigSchema,
  resolvePubSubTarget,
} from "./config.ts";
import { pubsubLiteLLM } from "./litellm.ts";
import { createPubSubSink } from "./pubsub_sink.ts";

/**
 * The gcs-pubsub plugin (LiteLLM's `gcs_pubsub` callback): one Pub/Sub
 * message per event, published to a topic in batches within the API's
 * limits. It may read `PUBSUB_EMULATOR_HOST` and the Google credential
 * variables (`permissions.env`); it asks for the endpoint's host and its
 * token's (the key's `token_uri`, or the metadata server), and to read the
 * key file when the credentials come from one.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: gcs-pubsub
 *     queue: { batch_size: 500, flush_interval_ms: 1000 }
 *     config:
 *       project_id: my-project
 *       topic_id: llm-logs
 *       ordering_key: trace_id
 *       service_account_json: os.environ/GCS_SERVICE_ACCOUNT_JSON
 * ```
 */
const pubsubPlugin: PluginDefinition<PubSubConfig> = {
  name: "gcs-pubsub",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: pubsubConfigSchema,
  permissions: (config, env) => {
    const target = () => resolvePubSubTarget(parsePubSubConfig(config), env);
    return {
      ...httpPermissions(() => {
        const { endpoint, credentials } = target();
        return [endpoint, ...googleAuthUrls(credentials)];
      }, PUBSUB_ENV_VARS),
      read: googleAuthFiles(() => target().credentials),
    };
  },
  litellm: pubsubLiteLLM,
  create: (config, ctx) => createPubSubSink(config, ctx),
};

export default pubsubPlugin;
