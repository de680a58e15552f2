/**
 * The langfuse plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  LANGFUSE_ENV,
  type LangfuseConfig,
  langfuseConfigSchema,
  resolveLangfuseSettings,
} from "./config.ts";
import { createLangfuseSink } from "./langfuse_sink.ts";
import { langfuseLiteLLM } from "./litellm.ts";

/**
 * The langfuse plugin: a Langfuse trace and generation per call, over
 * Langfuse's OTLP endpoint (default) or its legacy batch API. Different
 * teams' projects are separate sink instances selected by `teams:` /
 * `keys:`. It asks for the host of its server (`host`, `LANGFUSE_HOST`, or
 * Langfuse Cloud) and its `LANGFUSE_*` variables.
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: langfuse
 *     config:
 *       public_key: os.environ/LANGFUSE_PUBLIC_KEY
 *       secret_key: os.environ/LANGFUSE_SECRET_KEY
 * ```
 */
const langfusePlugin: PluginDefinition<LangfuseConfig> = {
  name: "langfuse",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: langfuseConfigSchema,
  // The host of its server (config or LANGFUSE_HOST, default Langfuse Cloud).
  permissions: (config, env) =>
    httpPermissions(() => [resolveLangfuseSettings(config, env).url], LANGFUSE_ENV),
  litellm: langfuseLiteLLM,
  create: (config, ctx) => createLangfuseSink(config, ctx),
};

export default langfusePlugin;
