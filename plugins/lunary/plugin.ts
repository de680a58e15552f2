/**
 * The lunary plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type LunaryConfig, lunaryConfigSchema } from "./config.ts";
import { createLunarySink, LUNARY_ENV, resolveLunarySettings } from "./lunary_sink.ts";
import { lunaryLiteLLM } from "./litellm.ts";

/**
 * The lunary plugin: run events (`start`, then `end` or `error`) per call
 * to Lunary's ingest endpoint. Answers to LiteLLM's `lunary` callback.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: lunary
 *     config: { public_key: os.environ/LUNARY_PUBLIC_KEY }
 * ```
 */
const lunaryPlugin: PluginDefinition<LunaryConfig> = {
  name: "lunary",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: lunaryConfigSchema,
  // The host of its API URL (config or LUNARY_API_URL, default api.lunary.ai).
  permissions: (config, env) =>
    httpPermissions(() => [resolveLunarySettings(config, env).url], LUNARY_ENV),
  litellm: lunaryLiteLLM,
  create: (config, ctx) => createLunarySink(config, ctx),
};

export default lunaryPlugin;
