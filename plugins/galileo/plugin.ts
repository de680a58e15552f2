/**
 * The galileo plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type GalileoConfig, galileoConfigSchema } from "./config.ts";
import { createGalileoSink, GALILEO_ENV, resolveSettings } from "./galileo_sink.ts";

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
