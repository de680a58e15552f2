/**
 * The langsmith plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type LangSmithConfig, langsmithConfigSchema } from "./config.ts";
import { createLangSmithSink, LANGSMITH_ENV, resolveLangSmithSettings } from "./langsmith_sink.ts";
import { langsmithLiteLLM } from "./litellm.ts";

/**
 * The langsmith plugin: one `llm` run per call to LangSmith's batch ingest
 * endpoint. Answers to LiteLLM's `langsmith` callback.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: langsmith
 *     config: { api_key: os.environ/LANGSMITH_API_KEY, project: checkout }
 * ```
 */
const langsmithPlugin: PluginDefinition<LangSmithConfig> = {
  name: "langsmith",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: langsmithConfigSchema,
  // The host of its endpoint (config or LANGSMITH_BASE_URL, default api.smith.langchain.com).
  permissions: (config, env) =>
    httpPermissions(
      () => [resolveLangSmithSettings(config, env).url],
      LANGSMITH_ENV,
    ),
  litellm: langsmithLiteLLM,
  create: (config, ctx) => createLangSmithSink(config, ctx),
};

export default langsmithPlugin;
