/**
 * The athina plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type AthinaConfig, athinaConfigSchema } from "./config.ts";
import { ATHINA_ENV, createAthinaSink, resolveAthinaSettings } from "./athina_sink.ts";
import { athinaLiteLLM } from "./litellm.ts";

/**
 * The athina plugin: one inference log per call to Athina's logging API.
 * Answers to LiteLLM's `athina` callback.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: athina
 *     config: { api_key: os.environ/ATHINA_API_KEY }
 * ```
 */
const athinaPlugin: PluginDefinition<AthinaConfig> = {
  name: "athina",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: athinaConfigSchema,
  // The host of its base URL (config or ATHINA_BASE_URL, default log.athina.ai).
  permissions: (config, env) =>
    httpPermissions(() => [resolveAthinaSettings(config, env).url], ATHINA_ENV),
  litellm: athinaLiteLLM,
  create: (config, ctx) => createAthinaSink(config, ctx),
};

export default athinaPlugin;
