/**
 * The galileo plugin definition.
 * @module
 */
import type { JsonSchema, PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  createGalileoSink,
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  GALILEO_ENV,
  type GalileoConfig,
  resolveSettings,
} from "./galileo_sink.ts";

/** JSON Schema of {@link GalileoConfig}. */
export const galileoConfigSchema: JsonSchema = {
  type: "object",
  properties: {
    base_url: {
      type: "string",
      pattern: "^https?://",
      description: `API base URL (default: GALILEO_BASE_URL, else ${DEFAULT_BASE_URL}).`,
    },
    project_id: {
      type: "string",
      minLength: 1,
      description: "Project id (default: GALILEO_PROJECT_ID). Required.",
    },
    api_key: {
      type: "string",
      minLength: 1,
      description: "API key, sent as Galileo-API-Key (default: GALILEO_API_KEY).",
    },
    username: {
      type: "string",
      minLength: 1,
      description: "Legacy flow user (default: GALILEO_USERNAME).",
    },
    password: {
      type: "string",
      minLength: 1,
      description: "Legacy flow password (default: GALILEO_PASSWORD).",
    },
    log_stream_id: {
      type: "string",
      minLength: 1,
      description: "Log stream id, API-key flow (default: GALILEO_LOG_STREAM_ID).",
    },
    ingest: {
      enum: ["traces", "spans"],
      default: "traces",
      description: "API-key flow endpoint: v2 traces (one request per batch) or v2 spans " +
        "(one request per trace in a batch).",
    },
    timeout_ms: {
      type: "integer",
      minimum: 1,
      default: DEFAULT_TIMEOUT_MS,
      description: "Timeout of one request in milliseconds.",
    },
  },
  additionalProperties: false,
};

/**
 * The galileo plugin: each call as a Galileo LLM record for evaluation,
 * through the API-key flow (v2 ingestion) or the legacy username/password
 * flow (Observe ingest), one request per batch.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: galileo
 *     config: { project_id: os.environ/GALILEO_PROJECT_ID, api_key: os.environ/GALILEO_API_KEY }
 * ```
 */
const galileoPlugin: PluginDefinition<GalileoConfig> = {
  name: "galileo",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: galileoConfigSchema,
  // The host of its base URL (config or GALILEO_BASE_URL, default api.galileo.ai).
  permissions: (config, env) =>
    httpPermissions(() => [resolveSettings(config, env).base], GALILEO_ENV),
  // LiteLLM's GALILEO_* variables are read by the plugin itself.
  litellm: { callbacks: ["galileo"] },
  create: (config, ctx) => createGalileoSink(config, ctx),
};

export default galileoPlugin;
