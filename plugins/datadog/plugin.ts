/**
 * The datadog plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type DatadogConfig, datadogConfigSchema } from "./config.ts";
import { createDatadogSink, DATADOG_ENV, resolveDatadogSettings } from "./datadog_sink.ts";
import { datadogLiteLLM } from "./litellm.ts";

/**
 * The datadog plugin: one log per call to Datadog's Logs intake, or one
 * LLM span per call to LLM Observability (`intake: llm_obs`). Answers to
 * LiteLLM's `datadog` and `datadog_llm_observability` callbacks.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: datadog
 *     config: { api_key: os.environ/DD_API_KEY, site: us5.datadoghq.com }
 *   - name: datadog-llm
 *     use: datadog
 *     config: { intake: llm_obs, ml_app: checkout-bot }
 * ```
 */
const datadogPlugin: PluginDefinition<DatadogConfig> = {
  name: "datadog",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: datadogConfigSchema,
  // The intake host of its site (config or DD_SITE) or of its endpoint_url.
  permissions: (config, env) =>
    httpPermissions(() => [resolveDatadogSettings(config, env).url], DATADOG_ENV),
  litellm: datadogLiteLLM,
  create: (config, ctx) => createDatadogSink(config, ctx),
};

export default datadogPlugin;
