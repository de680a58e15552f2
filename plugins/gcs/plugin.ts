/**
 * The gcs plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { googleAuthFiles, googleAuthUrls } from "./auth.ts";
import {
  GCS_ENV_VARS,
  type GcsConfig,
  gcsConfigSchema,
  parseGcsConfig,
  resolveGcsTarget,
} from "./config.ts";
import { createGcsSink } from "./gcs_sink.ts";
import { gcsLiteLLM } from "./litellm.ts";

/**
 * The gcs plugin (LiteLLM's `gcs_bucket` callback): one object per event,
 * or one NDJSON object per batch, in a Google Cloud Storage bucket through
 * the JSON API. It may read `STORAGE_EMULATOR_HOST` and the Google
 * credential variables (`permissions.env`); it asks for the endpoint's host
 * and its token's (the key's `token_uri`, or the metadata server), and to
 * read the key file when the credentials come from one
 * (`GCS_PATH_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`,
 * `service_account_file`).
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: gcs
 *     queue: { batch_size: 100, flush_interval_ms: 5000 }
 *     config:
 *       bucket: my-llm-logs
 *       path: gateway/prod
 *       use_team_prefix: true
 *       service_account_json: os.environ/GCS_SERVICE_ACCOUNT_JSON
 * ```
 */
const gcsPlugin: PluginDefinition<GcsConfig> = {
  name: "gcs",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: gcsConfigSchema,
  permissions: (config, env) => {
    const target = () => resolveGcsTarget(parseGcsConfig(config), env);
    return {
      ...httpPermissions(() => {
        const { endpoint, credentials } = target();
        return [endpoint, ...googleAuthUrls(credentials)];
      }, GCS_ENV_VARS),
      read: googleAuthFiles(() => target().credentials),
    };
  },
  litellm: gcsLiteLLM,
  create: (config, ctx) => createGcsSink(config, ctx),
};

export default gcsPlugin;
