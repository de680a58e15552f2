/**
 * The deepeval plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type DeepEvalConfig, deepevalConfigSchema } from "./config.ts";
import { createDeepEvalSink, DEEPEVAL_ENV, resolveDeepEvalSettings } from "./deepeval_sink.ts";
import { deepevalLiteLLM } from "./litellm.ts";

/**
 * The deepeval plugin: one Confident AI trace with an LLM span per call.
 * Answers to LiteLLM's `deepeval` callback.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: deepeval
 *     config: { api_key: os.environ/CONFIDENT_API_KEY, environment: production }
 * ```
 */
const deepevalPlugin: PluginDefinition<DeepEvalConfig> = {
  name: "deepeval",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: deepevalConfigSchema,
  // The host of its API URL (config or CONFIDENT_BASE_URL, default api.confident-ai.com).
  permissions: (config, env) =>
    httpPermissions(() => [resolveDeepEvalSettings(config, env).url], DEEPEVAL_ENV),
  litellm: deepevalLiteLLM,
  create: (config, ctx) => createDeepEvalSink(config, ctx),
};

export default deepevalPlugin;
